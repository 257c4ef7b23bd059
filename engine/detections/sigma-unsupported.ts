/** A Sigma rule uses a construct Cartographer cannot evaluate: reported by name at load, never dropped silently. */
export class SigmaUnsupported extends Error {}
