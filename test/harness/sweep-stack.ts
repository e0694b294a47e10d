import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Stack } from './stack.ts';
import { Moto } from './moto.ts';
import { SimulatedFleet } from './ec2-fleet.ts';

/** The sweep tests' stack: moto, the example with a launched location `gpu` (and `local`), the simulated fleet. */
export async function launchedLocationStack(): Promise<{ stack: Stack; moto: Moto; fleet: SimulatedFleet; stop(): Promise<void> }> {
  const moto = await Moto.start();
  Object.assign(process.env, moto.env());
  await moto.createLaunchTemplate();
  const stack = await Stack.start();
  await stack.example.create();
  const config = (await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).replace(/locations:[\s\S]*$/, [
    'locations:',
    '  local: {provider: local}',
    `  gpu: {provider: ec2, region: us-east-1, endpoint: "${moto.endpoint}", launchTemplate: cd4ml-gpu, instanceTypes: [g4dn.xlarge], hourlyPrice: 0.526, workerStartTimeout: 60s}`,
    '',
  ].join('\n'));
  await stack.example.writeFile('cd4ml.yaml', config, 'cd4ml: a launched location');
  const fleet = new SimulatedFleet(stack, moto.endpoint).start();
  return {
    stack, moto, fleet,
    async stop() {
      await fleet.stop();
      await stack.stop();
      await moto.stop();
    },
  };
}
