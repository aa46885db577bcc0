// Types for scripts/gen-docs.mjs, so test/docs/ can import its pure render functions.
export declare const SCHEMA_PATH: string;
export declare const FIELD_DOCS: Record<string, string>;
export interface RegistrationRow {
  field: string;
  type: string;
  required: boolean;
  default: string;
  constraints: string;
  description: string;
}
export declare function registrationJsonSchema(root?: string): Promise<Record<string, unknown>>;
export declare function schemaFileText(jsonSchema: unknown): string;
export declare function renderInputsTable(actionYmlText: string): string;
export declare function renderOutputsTable(actionYmlText: string): string;
export declare function registrationRows(jsonSchema: unknown): RegistrationRow[];
export declare function renderRegistrationTable(jsonSchema: unknown): string;
export declare function replaceBlock(text: string, name: string, content: string): string;
export interface PlanExample {
  args: string[];
  output: string;
}
export declare const PLAN_EXAMPLES: string[][];
export declare function runPlanExamples(
  runCli: (argv: string[], io: { stdout: (t: string) => void; stderr: (t: string) => void; env: NodeJS.ProcessEnv; cwd: string }) => Promise<number>,
  cwd?: string,
): Promise<PlanExample[]>;
export declare function renderPlanBlock(planExamples: PlanExample[]): string;
export declare function generateReadme(readmeText: string, actionYmlText: string, jsonSchema: unknown, planExamples: PlanExample[]): string;
