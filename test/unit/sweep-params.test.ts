import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ConfigError, SweepParamError, describeSetting, expandGrid, parseGrid, parseGridOption, parseProjectConfig, sampleSettings, sweepSettings,
} from '@cd4ml/contracts';
import { applySetting } from '@cd4ml/activities/dvc/set-params';

describe('sweep parameters (--grid, --random, --seed)', () => {
  it('types values as YAML does, like dvc exp run --set-param', () => {
    expect(parseGridOption('train.C=0.1,1,10')).toEqual(['train.C', [0.1, 1, 10]]);
    expect(parseGridOption('train.model=logistic_regression, decision_tree')).toEqual(['train.model', ['logistic_regression', 'decision_tree']]);
    expect(parseGridOption('train.flag=true,null,"1"')).toEqual(['train.flag', [true, null, '1']]);
    // Commas inside brackets or quotes belong to one value.
    expect(parseGridOption("train.features=[a,b],[c],'x,y'")).toEqual(['train.features', [['a', 'b'], ['c'], 'x,y']]);
    expect(parseGridOption('+train.extra=3')).toEqual(['+train.extra', [3]]);
  });

  it('refuses what is not key=values, naming the option and the expected form', () => {
    expect(() => parseGridOption('train.C')).toThrow(/"train.C": expected <dotted key>=<values>, e.g. 'train.C=0.1,1,10'/);
    expect(() => parseGridOption('=1')).toThrow(SweepParamError);
    expect(() => parseGridOption('train..C=1')).toThrow(/expected <dotted key>/);
    expect(() => parseGridOption('train.C=1,,2')).toThrow(/an empty value/);
    expect(() => parseGridOption('train.C=[1,2')).toThrow(/not a YAML value/);
    expect(() => parseGrid(['train.C=1', 'train.C=2'])).toThrow(/train.C is already in the grid/);
    expect(() => expandGrid({})).toThrow(/at least one --grid/);
  });

  it('repeated --grid options multiply: the cartesian product, first key slowest', () => {
    const grid = parseGrid(['train.C=0.1,1,10', 'train.model=logistic_regression,decision_tree']);
    const all = expandGrid(grid);
    expect(all).toHaveLength(6);
    expect(all.map(describeSetting)).toEqual([
      'train.C=0.1 train.model=logistic_regression', 'train.C=0.1 train.model=decision_tree',
      'train.C=1 train.model=logistic_regression', 'train.C=1 train.model=decision_tree',
      'train.C=10 train.model=logistic_regression', 'train.C=10 train.model=decision_tree',
    ]);
  });

  it('--random N --seed S draws N distinct settings, the same for the same seed, in grid order', () => {
    const all = expandGrid(parseGrid(['a.x=1,2,3,4,5', 'a.y=1,2,3,4']));
    const seven = sampleSettings(all, 7, 7);
    expect(seven).toHaveLength(7);
    expect(new Set(seven.map(describeSetting)).size).toBe(7);
    expect(sampleSettings(all, 7, 7)).toEqual(seven);
    expect(seven.map((s) => all.indexOf(s))).toEqual([...seven.map((s) => all.indexOf(s))].sort((a, b) => a - b));
    // Another seed, another subset (these two differ; a seed-blind sampler would not).
    expect(sampleSettings(all, 7, 8).map(describeSetting)).not.toEqual(seven.map(describeSetting));
    expect(sweepSettings({ 'a.x': [1, 2] }, { count: 5, seed: 1 })).toHaveLength(2);
    expect(() => sampleSettings(all, 0, 1)).toThrow(/--random 0: a whole number of settings, 1 or more/);
  });

  it('applies a setting to params.yaml keeping comments, order and the other keys', () => {
    const text = 'prepare:\n  seed: 42\n\ntrain:\n  # inverse regularisation strength\n  model: logistic_regression\n  C: 1.0\n  features:\n    - a\n    - b\n';
    const out = applySetting(text, { 'train.C': 0.1, 'train.model': 'decision_tree', 'train.features.1': 'c', '+train.extra': { k: 1 } });
    expect(out).toContain('  # inverse regularisation strength\n');
    expect(out.indexOf('prepare:')).toBeLessThan(out.indexOf('train:'));
    expect(parse(out)).toEqual({
      prepare: { seed: 42 },
      train: { model: 'decision_tree', C: 0.1, features: ['a', 'c'], extra: { k: 1 } },
    });
    expect(applySetting(out, { 'train.C': 0.1 })).toBe(out);
  });

  it('refuses a key params.yaml lacks unless written +key, naming the keys that are there', () => {
    expect(() => applySetting('train:\n  C: 1\n  model: lr\n', { 'train.c': 2 }))
      .toThrow('train.c: not in params.yaml (train has C, model); fix the key, or write +train.c to add it');
    expect(() => applySetting('train: [\n', { 'train.C': 2 })).toThrow(/params.yaml is not valid YAML/);
  });
});

describe('cd4ml.yaml sweeps.<name>', () => {
  const base = 'project: penguins\nlocations:\n  local: {provider: local}\n  gpu: {provider: ec2, region: us-east-1, imageId: ami-1, hourlyPrice: 1.2}\n';

  it('parses a sweep with grid, random, parallel, budget and locations, with defaults', () => {
    const config = parseProjectConfig(`${base}sweeps:\n  tonight:\n    grid: {train.C: [0.1, 1, 10], train.model: [logistic_regression]}\n    random: {count: 2}\n    budget: 5\n    locations: [gpu]\n`);
    expect(config.sweeps?.tonight).toEqual({
      grid: { 'train.C': [0.1, 1, 10], 'train.model': ['logistic_regression'] }, random: { count: 2, seed: 0 }, parallel: 1, budget: 5, locations: ['gpu'],
    });
  });

  it('reports bad sweeps by path', () => {
    const problems = (yaml: string) => {
      try {
        parseProjectConfig(base + yaml);
      } catch (err) {
        return (err as ConfigError).problems;
      }
      throw new Error('expected a ConfigError');
    };
    expect(problems('sweeps:\n  a:\n    grid: {}\n')).toEqual(['sweeps.a.grid: at least one key, e.g. grid: {train.C: [0.1, 1, 10]}']);
    expect(problems('sweeps:\n  a:\n    grid: {train.C: []}\n    parallel: 0\n')).toEqual([
      'sweeps.a.grid.train.C: at least one value', 'sweeps.a.parallel: Too small: expected number to be >=1',
    ]);
    expect(problems('sweeps:\n  a:\n    grid: {train.C: [1]}\n    locations: [tpu]\n')).toEqual(['sweeps.a.locations.0: no location "tpu" in locations']);
  });
});
