// The probe families (DESIGN decision 8) and what the passes ask of them.

export type { AnyFamily, Bundle, ContextOffer, EventPlanner, Lowering, LoweringProbe, PointArgs, PointBuilder, PointContext, PointKinds, PointMatch, PointPattern, PointResult, ProbeFamily, ResolveContext, ResolvedPoint, ScriptType, TargetVariable, VariableRead } from "./family.js";
export { contextFunctionProblem, explainMismatch, probeTypes, familyOf, listVariables, registerPointPattern, resolvePoint, targetAccess, variableNames, variablesOf, variableType, type TargetAccess } from "./registry.js";
export { componentText, hasWildcard, pointText, writtenText } from "./pattern.js";
export { resolveExecutable } from "./process-target.js";
export { traceSuggestions } from "./kernel-trace.js";
export type { RunPoint } from "./begin-end.js";
export type { TimerPoint } from "./timer.js";
export type { TracepointPoint } from "./kernel-trace.js";
export type { ProcessPoint, ProcessWhat } from "./process-target.js";
export type { UsdtPoint } from "./usdt.js";
