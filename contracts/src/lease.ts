// The location lease: one training per location at a time. The lease is a
// workflow (`location/<location>`) that queues requests and grants them in
// order; trainings talk to it with these signals and this query.
export const LeaseSignal = {
  acquire: 'acquire',
  release: 'release',
  granted: 'leaseGranted',
} as const;
export const LeaseQuery = { state: 'leaseState' } as const;

export interface LeaseRequest {
  workflowId: string;
}

export interface LeaseState {
  location: string;
  holder: string | null;
  waiting: string[];
}
