// Starting and stopping zest-server for the tests: on a free loopback port (--port 0), its URL
// read from the line it prints when it listens.
import { spawn } from 'node:child_process';

export async function startServer(binary, args = [], { timeoutMs = 60000 } = {}) {
  const proc = spawn(binary, ['--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`zest-server did not start in ${timeoutMs} ms:\n${log}`)), timeoutMs);
    proc.stderr.on('data', (data) => {
      log += data;
      process.stderr.write(data);
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code, signal }) => reject(new Error(`zest-server exited (${code ?? signal}) before listening:\n${log}`)));
  });
  return {
    url,
    proc,
    exited,
    // SIGTERM, then the exit status and how long the server took to exit.
    async stop() {
      const begin = Date.now();
      proc.kill('SIGTERM');
      const { code, signal } = await exited;
      return { code, signal, ms: Date.now() - begin };
    },
  };
}
