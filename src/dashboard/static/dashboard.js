// The dashboard's only script: draws the charts (Chart.js) from the JSON next to each canvas, and
// keeps job progress bars moving by polling their JSON until the job is finalized (backing off
// after failures, stopping only on answers a retry cannot change).

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

// Answers that no retry can change: signed out (401), not this session's (403), no such job (404).
const finalAnswers = new Set([401, 403, 404]);
const pollMs = 1000;
const maxPollMs = 30000;

function followProgress(box) {
  const bar = box.querySelector('progress');
  const text = box.querySelector('.progress-text');
  let delay = pollMs;
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { accept: 'application/json' } });
      if (finalAnswers.has(response.status)) {
        box.dataset.stopped = String(response.status);
        text.textContent = `${text.textContent} · updates stopped (${response.status === 401 ? 'signed out' : 'job not found'}): reload the page`;
        return;
      }
      if (!response.ok) throw new Error(`progress answered ${response.status}`);
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
      delay = pollMs;
    } catch {
      // A failed poll (network, a 5xx while the API restarts) is tried again, less often each time.
      delay = Math.min(delay * 2, maxPollMs);
    }
    setTimeout(poll, delay);
  };
  setTimeout(poll, delay);
}

document.addEventListener('DOMContentLoaded', () => {
  drawCharts();
  for (const box of document.querySelectorAll('.progress[data-finalized="false"]')) followProgress(box);
});
