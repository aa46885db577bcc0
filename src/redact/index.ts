export {
  REDACTION_KINDS,
  addCounts,
  containsPii,
  emptyCounts,
  luhnValid,
  redact,
  redactionToken,
  totalCount,
  truncate,
  type RedactionCounts,
  type RedactionKind,
  type RedactionResult,
} from './redact.js';
