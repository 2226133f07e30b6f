/* chart.js — a very small SVG bar chart for the dashboard (no library, no
 * CDN). AIDChart.bars(box, {labels, series: [{name, values}], format})
 * draws grouped bars with a legend; values are numbers, format turns one
 * into axis text. */
'use strict';
const AIDChart = (() => {
  const NS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#a4262c', '#0b5cad', '#1a7f37', '#9a6700', '#8250df', '#bc4c00', '#0e8a8a', '#6e7781', '#d4a72c'];
  const s = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function bars(box, { labels, series, format = String, height = 220 }) {
    while (box.firstChild) box.removeChild(box.firstChild);
    const W = 460, H = height, left = 56, right = 8, top = 10, bottom = 34;
    /* the axis steps: 1, 2 or 5 × 10^k, so the four gridlines read well */
    const top4 = Math.max(1, ...series.flatMap(x => x.values)) / 4;
    const mag = Math.pow(10, Math.floor(Math.log10(top4)));
    const step = [1, 2, 5, 10].map(m => m * mag).find(v => v >= top4);
    const max = step * 4;
    const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img' });
    const plotW = W - left - right, plotH = H - top - bottom;
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH - (plotH * i) / 4;
      svg.append(s('line', { x1: left, x2: W - right, y1: y, y2: y, stroke: '#e5e8eb' }));
      svg.append(s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, format(step * i)));
    }
    const groupW = plotW / Math.max(1, labels.length);
    const barW = Math.max(2, (groupW * 0.75) / Math.max(1, series.length));
    labels.forEach((lab, i) => {
      const x0 = left + i * groupW + groupW * 0.125;
      series.forEach((ser, j) => {
        const v = ser.values[i] || 0;
        const h = (plotH * v) / max;
        const bar = s('rect', { x: x0 + j * barW, y: top + plotH - h, width: barW - 1, height: h,
          fill: ser.color || COLORS[j % COLORS.length] });
        bar.append(s('title', {}, `${ser.name} · ${lab}:${format(v)}`));
        svg.append(bar);
      });
      svg.append(s('text', { x: left + i * groupW + groupW / 2, y: H - bottom + 14, 'text-anchor': 'middle' }, lab));
    });
    box.append(svg);
    if (series.length > 1) {
      const legend = document.createElement('div');
      legend.className = 'legend';
      series.forEach((ser, j) => {
        const item = document.createElement('span');
        const sw = document.createElement('i');
        sw.style.background = ser.color || COLORS[j % COLORS.length];
        item.append(sw, ser.name);
        legend.append(item);
      });
      box.append(legend);
    }
  }
  return { bars, COLORS };
})();
