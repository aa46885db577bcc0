/** deploysim's version, as in package.json (a test keeps the two equal); `deploysim --version` prints it. */
export const VERSION = '0.1.0';
