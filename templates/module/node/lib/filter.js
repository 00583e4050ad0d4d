'use strict';

// The module's logic, free of the Azure SDK so that `node --test` needs no npm install.

const DEFAULT_THRESHOLD = 25;
const THRESHOLD_PROPERTY = 'TemperatureThreshold';

function temperatureOf(body) {
  let data;
  try {
    data = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : String(body));
  } catch {
    return null;
  }
  const machine = data !== null && typeof data === 'object' ? data.machine : undefined;
  const value = machine !== null && typeof machine === 'object' ? machine.temperature : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function parseThreshold(value) {
  if (typeof value === 'boolean' || value === null || value === undefined || value === '') {
    return null;
  }
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

class TemperatureFilter {
  constructor(threshold = DEFAULT_THRESHOLD) {
    this.threshold = threshold;
    this.received = 0;
    this.forwarded = 0;
  }

  accept(body) {
    this.received += 1;
    const temperature = temperatureOf(body);
    if (temperature === null || temperature <= this.threshold) {
      return false;
    }
    this.forwarded += 1;
    return true;
  }

  applyDesired(desired) {
    if (!desired || !(THRESHOLD_PROPERTY in desired)) {
      return false;
    }
    const threshold = parseThreshold(desired[THRESHOLD_PROPERTY]);
    if (threshold === null || threshold === this.threshold) {
      return false;
    }
    this.threshold = threshold;
    return true;
  }

  reset() {
    this.received = 0;
    this.forwarded = 0;
  }

  reported() {
    return {
      [THRESHOLD_PROPERTY]: this.threshold,
      received: this.received,
      forwarded: this.forwarded,
    };
  }
}

module.exports = { DEFAULT_THRESHOLD, TemperatureFilter, parseThreshold, temperatureOf };
