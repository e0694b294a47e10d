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
  async stop(machine) {
    return { stoppedAt: Date.now(), seconds: (Date.now() - machine.startedAt) / 1000, action: 'none' };
  },
};
