// Location workers: who serves a location's queue, and how a new worker asks an
// old one to step aside. A location's persistent checkout is the reason it
// exists, so one worker (one checkout) serves it at a time.

/** What a live location worker says of itself on its admin queue. */
export interface LocationWorkerInfo {
  /** `<pid>@<host>:<checkout folder>`: what the Web UI's Workers tab shows. */
  identity: string;
  host: string;
  pid: number;
  /** The persistent checkouts' folder. */
  workdir: string;
  /** The location's queue it takes new trainings from. */
  queue: string;
  /** Its own queue: every step after a training's checkout. */
  checkoutQueue: string;
  startedAt: string;
  /** Asked to step aside: takes no new training, finishes the steps of the one it runs, then stops. */
  retiring: boolean;
}

/** Activities every location worker serves on its admin queue (`workerAdminTaskQueue`). */
export interface LocationAdminActivities {
  describeWorker(): Promise<LocationWorkerInfo>;
  retireWorker(input: { by: string }): Promise<LocationWorkerInfo>;
}

/** What the checkout step answers: the queue every later step of the training goes to. */
export interface CheckoutDone {
  checkoutQueue: string;
  worker: string;
}

export interface FenceRequest {
  adminQueue: string;
  action: 'describe' | 'retire';
  /** Identity of the worker asking. */
  by: string;
}
