/** A configuration that cannot be used. The message names the key; the CLI exits 2 with it. */
export class ConfigError extends Error {}
