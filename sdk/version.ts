/** The package version, sent in the admin client's user agent. Kept equal to package.json by a test. */
export const SDK_VERSION = "0.1.0";
