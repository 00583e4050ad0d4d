'use strict';

// FilterModule: forwards machine temperature readings above a threshold.
// Receives messages on input1, sends those whose machine.temperature exceeds the module twin's
// desired TemperatureThreshold to output1, reports its state as reported properties, answers
// the direct method "reset", and shuts down cleanly on SIGTERM.

const { ModuleClient, Message } = require('azure-iot-device');
const { Mqtt: Transport } = require('azure-iot-device-mqtt');
const { TemperatureFilter } = require('./lib/filter');

const INPUT = 'input1';
const OUTPUT = 'output1';
const log = (...args) => console.log(new Date().toISOString(), 'FilterModule', ...args);

async function main() {
  const filter = new TemperatureFilter();
  const client = await ModuleClient.fromEnvironment(Transport);
  client.on('error', (err) => log('client error:', err.message));
  await client.open();

  const twin = await client.getTwin();
  const report = () =>
    new Promise((resolve) => {
      twin.properties.reported.update(filter.reported(), (err) => {
        if (err) {
          log('reporting failed:', err.message);
        }
        resolve();
      });
    });

  filter.applyDesired(twin.properties.desired);
  twin.on('properties.desired', async (delta) => {
    if (filter.applyDesired(delta)) {
      log('threshold is now', filter.threshold);
    }
    await report();
  });

  client.on('inputMessage', async (inputName, message) => {
    try {
      if (inputName !== INPUT) {
        log('ignoring a message on unknown input', inputName);
        return;
      }
      if (filter.accept(message.getBytes())) {
        const forward = new Message(message.getBytes());
        forward.contentType = 'application/json';
        forward.contentEncoding = 'utf-8';
        for (const { key, value } of message.properties.propertyList) {
          forward.properties.add(key, value);
        }
        forward.properties.add('MessageType', 'Alert');
        await client.sendOutputEvent(OUTPUT, forward);
      }
    } catch (err) {
      log('forwarding failed:', err.message);
    } finally {
      client.complete(message, () => {});
    }
  });

  client.onMethod('reset', async (request, response) => {
    filter.reset();
    await report();
    response.send(200, { result: 'counters reset' }, (err) => {
      if (err) {
        log('method response failed:', err.message);
      }
    });
  });

  await report();
  log('started; threshold', filter.threshold);

  const shutdown = async (signal) => {
    log('received', signal, '- shutting down');
    try {
      await client.close();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  log('could not start:', err.message);
  process.exit(1);
});
