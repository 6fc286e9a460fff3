// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// @grafana/ui measures text on a canvas (auto-width inputs such as MultiCombobox); jsdom has no canvas, and the
// scaffold's stub returns undefined. A fixed-width font metric is enough for layout-independent tests.
HTMLCanvasElement.prototype.getContext = function getContext() {
  return { measureText: (text) => ({ width: String(text).length * 7 }), font: '' };
};

// Observers used by @grafana/ui's dropdowns (scroll indicators, virtualised lists); jsdom has neither.
class NoopObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
global.IntersectionObserver = global.IntersectionObserver || NoopObserver;
global.ResizeObserver = global.ResizeObserver || NoopObserver;

// Combobox lists are virtualised (@tanstack/react-virtual measures clientHeight / offsetHeight): with jsdom's
// zero-sized boxes no option would render. Give every element a box large enough for the longest list in the tests.
for (const [prop, value] of [
  ['clientHeight', 2000],
  ['clientWidth', 400],
  ['offsetHeight', 32],
  ['offsetWidth', 400],
]) {
  Object.defineProperty(HTMLElement.prototype, prop, { configurable: true, get: () => value });
}

// *ByRole queries check every ancestor's computed style for visibility, which dominates the run time on the
// editors' large DOM; Grafana's dropdowns are rendered visible anyway, so skip that check.
require('@testing-library/react').configure({ defaultHidden: true, asyncUtilTimeout: 5000 });
