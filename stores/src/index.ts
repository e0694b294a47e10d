export { checkKey, isProjectName, type ReleaseStore, type StoredObject } from './store.ts';
export { DirectoryStore } from './directory-store.ts';
export { S3Store, PART_SIZE, parseS3Url, type S3StoreOptions } from './s3-store.ts';
export { createS3Client, endpointOverride, S3_TIMEOUTS } from './s3-client.ts';
export { StoreError, type StoreErrorKind } from './s3-errors.ts';
export { isS3Url, openStore } from './open-store.ts';
export { sha256File, sha256Of } from './sha256.ts';
