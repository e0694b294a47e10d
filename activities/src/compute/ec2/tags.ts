// Tags on every instance cd4ml starts or launches: the reaper finds its own
// instances by them, and a person reading the EC2 console sees whose run it is.
export const TAG_MANAGED = 'cd4ml:managed';
export const TAG_LOCATION = 'cd4ml:location';
export const TAG_WORKFLOW = 'cd4ml:workflow-id';
/** 'start-stop' (a person's instance) or 'launch-terminate' (launched from a template or AMI). */
export const TAG_LIFECYCLE = 'cd4ml:lifecycle';

export const cd4mlTags = (location: string, workflowId: string, lifecycle: 'start-stop' | 'launch-terminate') => [
  { Key: TAG_MANAGED, Value: 'true' },
  { Key: TAG_LOCATION, Value: location },
  { Key: TAG_WORKFLOW, Value: workflowId },
  { Key: TAG_LIFECYCLE, Value: lifecycle },
  { Key: 'Name', Value: `cd4ml ${location}` },
];

export const tagValue = (tags: { Key?: string; Value?: string }[] | undefined, key: string): string | undefined =>
  tags?.find((t) => t.Key === key)?.Value;
