'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { DEFAULT_THRESHOLD, TemperatureFilter, parseThreshold, temperatureOf } = require('../lib/filter');

const reading = (temperature) => Buffer.from(JSON.stringify({ machine: { temperature, pressure: 1 } }));

test('forwards only readings above the threshold', () => {
  const f = new TemperatureFilter(25);
  assert.equal(f.accept(reading(25.5)), true);
  assert.equal(f.accept(reading(25)), false);
  assert.equal(f.accept(reading(10)), false);
  assert.deepEqual([f.received, f.forwarded], [3, 1]);
});

test('drops messages without a machine temperature', () => {
  const f = new TemperatureFilter();
  for (const body of ['not json', '[]', '{"machine": {}}', reading('hot'), 'null']) {
    assert.equal(f.accept(body), false);
  }
  assert.equal(temperatureOf(reading(30)), 30);
});

test('takes the threshold from desired properties', () => {
  const f = new TemperatureFilter();
  assert.equal(f.threshold, DEFAULT_THRESHOLD);
  assert.equal(f.applyDesired({ TemperatureThreshold: 30 }), true);
  assert.equal(f.applyDesired({ TemperatureThreshold: 'warm' }), false);
  assert.equal(f.applyDesired({ $version: 2 }), false);
  assert.equal(f.threshold, 30);
  assert.equal(parseThreshold('21.5'), 21.5);
});

test('reset clears the counters', () => {
  const f = new TemperatureFilter();
  f.accept(reading(99));
  f.reset();
  assert.deepEqual(f.reported(), { TemperatureThreshold: DEFAULT_THRESHOLD, received: 0, forwarded: 0 });
});
