// How a Temporal server's PostgreSQL databases get their schemas, shared by the native cluster
// (temporal-cluster.ts) and the check of docker-compose.yml's one-shot schema service.

/** The server's two databases and the schema of each (embedded in temporal-sql-tool, --schema-name). */
export const TEMPORAL_DATABASES = { temporal: 'postgresql/v12/temporal', temporal_visibility: 'postgresql/v12/visibility' } as const;

/**
 * temporal-sql-tool's steps for one database, as an operator runs them (after --plugin postgres12
 * --db <database>): the database, the versioning tables at 0.0, then every versioned step up to the
 * tool's version. Each is a no-op once done.
 */
export const schemaSteps = (schema: string): string[][] => [
  ['create-database'],
  ['setup-schema', '-v', '0.0'],
  ['update-schema', '--schema-name', schema],
];
