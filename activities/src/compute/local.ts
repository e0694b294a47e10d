import type { MachineProvider } from './machine.ts';

/**
 * The local provider: the location worker is a process on this machine that
 * someone started, so there is nothing to switch on or off. It still goes
 * through start/stop so the workflow's cleanup path is the same everywhere.
 */
export const localMachine: MachineProvider = {
  async start({ location }) {
    return { provider: 'local', location, instanceId: null, instanceType: null, startedAt: Date.now() };
  },
  recordFor({ location }) {
    return { provider: 'local', location, instanceId: null, instanceType: null, startedAt: 0 };
  },
  async stop(machine) {
    const stoppedAt = Date.now();
    return { stoppedAt, seconds: (stoppedAt - machine.startedAt) / 1000, action: 'none', estimatedCost: null };
  },
};
