import { describe, expect, it } from 'vitest';
import { browserCommand } from './browser.js';

describe('opening the app in a browser (npm start / npm run demo)', () => {
  const on = { OPEN_BROWSER: '1' };
  it('only when the start script asks, and not with BROWSER=none', () => {
    expect(browserCommand({ DISPLAY: ':0' }, 'linux')).toBeUndefined();
    expect(browserCommand({ OPEN_BROWSER: '0', DISPLAY: ':0' }, 'linux')).toBeUndefined();
    expect(browserCommand({ ...on, BROWSER: 'none', DISPLAY: ':0' }, 'linux')).toBeUndefined();
  });

  it('BROWSER names the command, even under CI', () => {
    expect(browserCommand({ ...on, BROWSER: '/usr/bin/firefox', CI: '1' }, 'linux')).toEqual([
      '/usr/bin/firefox',
    ]);
  });

  it("otherwise the desktop's opener, and none under CI or on a headless machine", () => {
    expect(browserCommand({ ...on }, 'darwin')).toEqual(['open']);
    expect(browserCommand({ ...on, DISPLAY: ':0' }, 'linux')).toEqual(['xdg-open']);
    expect(browserCommand({ OPEN_BROWSER: 'true', WAYLAND_DISPLAY: 'w-0' }, 'linux')).toEqual([
      'xdg-open',
    ]);
    expect(browserCommand({ ...on, WSL_DISTRO_NAME: 'Debian' }, 'linux')).toEqual(['wslview']);
    expect(browserCommand({ ...on }, 'linux')).toBeUndefined(); // a server, no display
    expect(browserCommand({ ...on, CI: 'true' }, 'darwin')).toBeUndefined();
    expect(browserCommand({ ...on, DISPLAY: ':0' }, 'win32')).toBeUndefined();
  });
});
