export { AuditError, Auditor, MAX_FINDINGS_PER_COMPLETION, normaliseLabel, parseFindings } from './auditor.js';
export { auditSection, awarenessSection, discoverySections, discoveryText } from './markdown.js';
export { AUDIT_SCHEMA_NAME, THEMES_SCHEMA_NAME, auditRequest, themesRequest } from './prompt.js';
export { AuditRun, createAuditRun, evaluationAwareness, finishDiscovery, plannedAuditRequests, scoreThemes, type DiscoveryFields, type RecordAudit } from './run.js';
export { auditSchema, severityRank, SEVERITIES, type AuditConfig, type Severity } from './schema.js';
export { OTHER_THEME, parseThemes, summariseThemes, themesByLabel } from './themes.js';
export type { AuditExample, AuditReport, AuditTheme, EvaluationAwarenessReport } from './types.js';
export { mergeDiscovery, type MergedDiscovery } from './merge.js';
