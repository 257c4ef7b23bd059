/** A Sigma rule uses a construct Cartographer cannot evaluate: reported by name at load, never dropped silently. */
import { CartographerError } from '../errors.ts';

export class SigmaUnsupported extends CartographerError {
  override readonly name = 'SigmaUnsupported';
  readonly code = 'unsupported';
}
