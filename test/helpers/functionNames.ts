import { functionNames } from '../../dev/host/functionModules';

/**
 * Every function the app registers, sorted: one per module of `functions/`, named by its file (the
 * registration test checks that each module registers exactly that function).
 */
export const FUNCTION_NAMES: readonly string[] = functionNames();
