/**
 * Runs the built `cartographer` command (bin/cartographer.js) as a child process with a clean environment: only
 * PATH, HOME and the given variables, so no setting of the machine running the tests leaks in.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['bin/cartographer.js', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
  });
  return childOutput(child);
}

/** Everything a child process writes to stdout and stderr, and its exit code (-1 when killed by a signal). */
export function childOutput(child: ChildProcess): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
