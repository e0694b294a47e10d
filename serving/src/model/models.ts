import { BadRequest, type ModelRegistry } from './types.ts';

// The models one server serves, by name: one registry (releases, pool, rollout)
// per project, as Triton and MLServer serve several models from one process.

export class ModelSet {
  private readonly byName = new Map<string, ModelRegistry>();

  constructor(registries: readonly ModelRegistry[]) {
    if (registries.length === 0) throw new Error('a server needs at least one model');
    for (const r of registries) {
      if (this.byName.has(r.name)) throw new Error(`model ${r.name} is given twice; name each project once`);
      this.byName.set(r.name, r);
    }
  }

  static of(models: ModelRegistry | ModelSet): ModelSet {
    return models instanceof ModelSet ? models : new ModelSet([models]);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): ModelRegistry[] {
    return [...this.byName.values()];
  }

  /** The registry serving `name`; 404 naming the models there are. */
  get(name: string): ModelRegistry {
    const r = this.byName.get(name);
    if (!r) throw new BadRequest(`unknown model "${name}": this server serves ${this.names().map((n) => `"${n}"`).join(', ')}`, 404);
    return r;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The server is ready when every model it serves is. */
  ready(): boolean {
    for (const r of this.byName.values()) if (!r.ready()) return false;
    return true;
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((r) => r.close()));
  }
}
