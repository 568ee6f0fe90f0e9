/** The major version package.json's `engines.node` (">=N") asks for. */
export function minimumMajor(range?: string): number;
/** Why `version` cannot run the project (a message naming the version needed), or undefined when it can. */
export function nodeProblem(version?: string, minimum?: number, execPath?: string): string | undefined;
