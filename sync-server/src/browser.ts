import { spawn } from 'node:child_process';

/**
 * `npm start` / `npm run demo` open the app in a browser once the server listens (BRIEF.md:
 * the first command "starts the whole system … and opens it in a browser"): `OPEN_BROWSER=1`,
 * which the start script sets. The command: `BROWSER` (`none`: no browser), else the desktop's
 * opener — `open` on macOS, `xdg-open` where there is a display, `wslview` under WSL — and
 * none under CI or on a headless machine (the URL is in the `listening` line either way).
 */
export function browserCommand(
  env: Partial<Record<string, string>>,
  platform: NodeJS.Platform,
): readonly string[] | undefined {
  const on = env['OPEN_BROWSER'] === '1' || env['OPEN_BROWSER'] === 'true';
  const browser = env['BROWSER'] || undefined;
  if (!on || browser === 'none') return undefined;
  if (browser !== undefined) return [browser];
  if (env['CI']) return undefined;
  if (platform === 'darwin') return ['open'];
  if (platform !== 'linux') return undefined;
  if (env['WSL_DISTRO_NAME']) return ['wslview'];
  if (env['DISPLAY'] || env['WAYLAND_DISPLAY']) return ['xdg-open'];
  return undefined;
}

/** Runs the command with the URL, apart from the server: its failure is only said. */
export function openBrowser(
  command: readonly string[],
  url: string,
  onFailure: (error: Error) => void,
): void {
  const [cmd, ...args] = command;
  if (cmd === undefined) return;
  const child = spawn(cmd, [...args, url], { detached: true, stdio: 'ignore' });
  child.on('error', onFailure);
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) onFailure(new Error(`${cmd} exited with ${code}`));
  });
  child.unref();
}
