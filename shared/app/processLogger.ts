import type { Logger } from '../log';

/**
 * The process-wide logger of the shared clients (one per process, so not an invocation's context). The
 * Functions host captures console output; invocation-specific lines go through the InvocationContext.
 */
export const processLogger: Logger = {
  debug: (message, ...args) => console.debug(message, ...args),
  info: (message, ...args) => console.info(message, ...args),
  warn: (message, ...args) => console.warn(message, ...args),
  error: (message, ...args) => console.error(message, ...args),
};
