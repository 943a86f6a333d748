// Live updates: call fn every `ms` (never overlapping), paused while the tab is hidden.

export function poll(fn, ms = 1000) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (!document.hidden) {
      try {
        if ((await fn()) === false) return; // fn may return false to stop polling
      } catch (err) {
        console.warn("poll:", err);
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
