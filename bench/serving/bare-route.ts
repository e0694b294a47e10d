// The HTTP ceiling on this machine: fastify parses the same JSON body and
// answers a constant. No model, no validation.
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
const answer = { model_name: 'penguins', outputs: [] };
app.get('/v2/health/ready', async () => ({ ready: true }));
app.post('/v2/models/:name/infer', async (req) => {
  const body = req.body as { inputs?: unknown[] };
  if (!Array.isArray(body?.inputs)) throw new Error('no inputs');
  return answer;
});
await app.listen({ port, host: '127.0.0.1' });
console.log(`bare route listening on ${port}`);
