/**
 * Imported first by the local entry points (before any function module loads): the functions then register
 * with a recording core instead of warning that they run outside the Functions host.
 */
import { installRecordingCore, registeredFunctions } from './functionsCore';

installRecordingCore();

export { registeredFunctions };
