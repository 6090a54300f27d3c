import { fileURLToPath } from 'node:url';

/**
 * The package root, where `config/` ships. Resolved from this module rather than the working
 * directory because `npx snowgate` runs from anywhere. (This file compiles to dist/src/cli/.)
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
