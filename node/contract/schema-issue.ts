/**
 * One line for a failed zod/mini validation. zod/mini loads no message locale
 * (that is what keeps it small), so the first issue is named by its code and the
 * path to the offending field: "invalid_type at ticket.exp".
 */
export interface SchemaIssues { issues: ReadonlyArray<{ code: string, path: ReadonlyArray<PropertyKey> }> }

export function describeIssue (error: SchemaIssues): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid'
  return `${issue.code} at ${issue.path.length > 0 ? issue.path.map(String).join('.') : 'top level'}`
}
