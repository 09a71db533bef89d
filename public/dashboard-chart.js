/*
 * Draws a dashboard's charts with Chart.js (served by the app from node_modules, see app.ts) from
 * the page's JSON block #usage-data. No inline script: the page's CSP allows scripts from 'self'
 * only. The same figures are in the table below the charts; without this script (or Chart.js) the
 * table is the page.
 */
(function () {
  'use strict';
  function start() {
    var data = document.getElementById('usage-data');
    if (!data || typeof window.Chart === 'undefined') return;
    var usage;
    try {
      usage = JSON.parse(data.textContent || '{}');
    } catch (e) {
      return;
    }
    var Chart = window.Chart;
    var palette = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2'];
    var common = { responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: 'index', intersect: false } };

    var volume = document.querySelector('canvas[data-chart="volume"]');
    if (volume) {
      new Chart(volume, {
        data: {
          labels: usage.labels,
          datasets: [
            { type: 'bar', label: 'Calls', data: usage.calls, backgroundColor: 'rgba(37, 99, 235, 0.5)', yAxisID: 'calls' },
            { type: 'line', label: 'Minutes', data: usage.minutes, borderColor: '#16a34a', backgroundColor: '#16a34a', yAxisID: 'minutes', tension: 0.2 },
          ],
        },
        options: Object.assign({}, common, {
          scales: {
            calls: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'Calls' } },
            minutes: { type: 'linear', position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'Minutes' } },
          },
        }),
      });
    }

    var money = document.querySelector('canvas[data-chart="money"]');
    if (money && usage.money && usage.money.length) {
      new Chart(money, {
        type: 'line',
        data: {
          labels: usage.labels,
          // Amounts come as exact text; the chart only draws them (the table has the exact figures).
          datasets: usage.money.map(function (line, i) {
            var colour = palette[i % palette.length];
            return { label: line.label, data: line.values.map(Number), borderColor: colour, backgroundColor: colour, tension: 0.2 };
          }),
        },
        options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } }),
      });
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
