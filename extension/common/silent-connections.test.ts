import { SILENT_TIMEOUT_MS, SilentConnections } from './silent-connections';

describe('silent connections', () => {
  it('an open connection that brought nothing for the timeout is dropped', () => {
    const silent = { connected: true, destroy: jest.fn() };
    const talking = { connected: true, destroy: jest.fn() };
    const watch = new SilentConnections();
    watch.drop([silent, talking], 0);
    watch.heard(talking, SILENT_TIMEOUT_MS - 1);
    watch.drop([silent, talking], SILENT_TIMEOUT_MS - 1);
    expect(silent.destroy).not.toHaveBeenCalled();
    watch.drop([silent, talking], SILENT_TIMEOUT_MS);
    expect(silent.destroy).toHaveBeenCalledTimes(1);
    expect(talking.destroy).not.toHaveBeenCalled();
  });

  it('a connection that is still opening is not silent (StalledConnections drops those)', () => {
    const opening = { connected: false, destroy: jest.fn() };
    const watch = new SilentConnections();
    watch.drop([opening], 0);
    watch.drop([opening], 10 * SILENT_TIMEOUT_MS);
    expect(opening.destroy).not.toHaveBeenCalled();
    opening.connected = true; // counted from when it is first seen open
    watch.drop([opening], 10 * SILENT_TIMEOUT_MS);
    watch.drop([opening], 11 * SILENT_TIMEOUT_MS - 1);
    expect(opening.destroy).not.toHaveBeenCalled();
  });
});
