/**
 * SIGINT/SIGTERM, listened for from the first moment of a long-running command. Without a
 * listener Node dies on the signal at once, running no exit handler: a Ctrl-C (or `npm
 * start` being stopped) while the embedded database was still starting left that PostgreSQL
 * running with nobody to stop it. A signal that comes during start is kept, and the command
 * shuts down in order as soon as start is over.
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
