"""JavaScript the renderer runs in pages: lab-metric observers (before any page script) and the read-out."""

VITALS_SCRIPT = r"""
(() => {
  if (Object.prototype.hasOwnProperty.call(window, '__leadstreamVitals')) return;
  const seen = {lcp: null, fcp: null, shifts: [], tasks: []};
  const watch = (type, onEntry) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(onEntry)).observe({type, buffered: true});
    } catch (e) {}
  };
  watch('largest-contentful-paint', (e) => { seen.lcp = e.renderTime || e.loadTime || e.startTime; });
  watch('paint', (e) => { if (e.name === 'first-contentful-paint') seen.fcp = e.startTime; });
  watch('layout-shift', (e) => { seen.shifts.push([e.startTime, e.value]); });
  watch('longtask', (e) => { seen.tasks.push([e.startTime, e.duration]); });
  const read = () => {
    let cls = 0, session = 0, sessionStart = 0, previous = 0;
    for (const [at, value] of seen.shifts) {
      if (session > 0 && at - previous < 1000 && at - sessionStart < 5000) {
        session += value;
      } else {
        session = value;
        sessionStart = at;
      }
      previous = at;
      cls = Math.max(cls, session);
    }
    let tbt = null;
    if (seen.fcp !== null) {
      tbt = 0;
      const windowEnd = performance.now();
      for (const [start, duration] of seen.tasks) {
        const blockingStart = Math.max(start + 50, seen.fcp);
        const blockingEnd = Math.min(start + duration, windowEnd);
        if (blockingEnd > blockingStart) tbt += blockingEnd - blockingStart;
      }
    }
    return {lcp: seen.lcp, fcp: seen.fcp, cls, tbt};
  };
  Object.defineProperty(window, '__leadstreamVitals', {value: read, enumerable: false});
})();
"""

READ_SCRIPT = r"""
([paths, maxChars]) => {
  let vitals = {};
  try { vitals = window.__leadstreamVitals(); } catch (e) {}
  const js = {};
  for (const path of paths) {
    try {
      let value = window;
      for (const part of path.split('.')) {
        if (value === null || value === undefined) break;
        value = value[part];
      }
      if (value === null || value === undefined) continue;
      const kind = typeof value;
      const primitive = kind === 'string' || kind === 'number' || kind === 'boolean' || kind === 'bigint';
      js[path] = primitive ? String(value).slice(0, maxChars) : '';
    } catch (e) {}
  }
  let viewportMeta = false, overflow = false;
  try {
    viewportMeta = Array.from(document.querySelectorAll('meta[name="viewport" i]'))
      .some((m) => /width\s*=\s*device-width|initial-scale/i.test(m.getAttribute('content') || ''));
    // A phone zooms out to show overflowing content, which widens innerWidth: compare with the layout width too.
    const root = document.scrollingElement || document.documentElement;
    const layoutWidth = Math.min(window.innerWidth, root.clientWidth || window.innerWidth);
    overflow = document.documentElement.scrollWidth > layoutWidth + 1;
  } catch (e) {}
  return {vitals, js, viewportMeta, overflow};
}
"""
