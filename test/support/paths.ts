/** The test folder itself: what tests that read files beside them (fixtures, ../rules, ../demo) join paths to. */
import { join } from 'node:path';

export const TEST_DIR = join(import.meta.dirname, '..');
