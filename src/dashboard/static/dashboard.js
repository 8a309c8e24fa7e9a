// The dashboard's only script: draws the charts (Chart.js) from the JSON next to each canvas, and
// keeps job progress bars moving by polling their JSON until the job is finalized.

function drawCharts() {
  if (typeof window.Chart === 'undefined') return;
  for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
    const data = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    const stacked = canvas.dataset.stacked === 'true';
    new window.Chart(canvas, {
      type: 'bar',
      data,
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: stacked } },
      },
    });
  }
}

function followProgress(box) {
  const bar = box.querySelector('progress');
  const text = box.querySelector('.progress-text');
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { accept: 'application/json' } });
      if (!response.ok) return;
      const p = await response.json();
      bar.value = p.percent;
      bar.textContent = `${p.percent} %`;
      const total = p.known ? p.total : `${p.total}+`;
      text.textContent = `${p.percent} % · ${p.done} of ${total}${p.failed > 0 ? ` · ${p.failed} failed` : ''}`;
      if (p.finalized) {
        box.dataset.finalized = 'true';
        if (box.dataset.reloadWhenDone === 'true') window.location.reload();
        return;
      }
    } catch {
      // A failed poll is tried again on the next tick.
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
}

document.addEventListener('DOMContentLoaded', () => {
  drawCharts();
  for (const box of document.querySelectorAll('.progress[data-finalized="false"]')) followProgress(box);
});
