import type { Logger } from '../log';

const debugEnabled = (): boolean => process.env.LOG_LEVEL?.toLowerCase() === 'debug';

/**
 * The process-wide logger of the shared clients (one per process, so not an invocation's context). The
 * Functions host captures console output; invocation-specific lines go through the InvocationContext.
 * Debug lines only with LOG_LEVEL=debug.
 */
export const processLogger: Logger = {
  debug: (message, ...args) => {
    if (debugEnabled()) console.debug(message, ...args);
  },
  info: (message, ...args) => console.info(message, ...args),
  warn: (message, ...args) => console.warn(message, ...args),
  error: (message, ...args) => console.error(message, ...args),
};
