/** Sample display: images with wheel/button zoom and drag to pan; audio with a waveform and play/pause. */
export interface MediaHandle {
  el: HTMLElement;
  /** Audio: toggles playback; images: nothing. */
  toggle(): void;
  dispose(): void;
}

export function imageViewer(src: string, alt: string): MediaHandle {
  const wrap = document.createElement('div');
  wrap.className = 'media image';
  const img = document.createElement('img');
  img.src = src;
  img.alt = alt;
  img.draggable = false;
  const tools = document.createElement('div');
  tools.className = 'zoom-tools';
  let zoom = 1;
  let dx = 0;
  let dy = 0;
  const apply = () => {
    img.style.transform = `translate(${dx}px, ${dy}px) scale(${zoom})`;
    level.textContent = `${Math.round(zoom * 100)}%`;
  };
  const btn = (text: string, title: string, f: () => void) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.title = title;
    b.addEventListener('click', f);
    tools.append(b);
  };
  btn('−', 'zoom out', () => ((zoom = Math.max(0.5, zoom / 1.25)), apply()));
  const level = document.createElement('span');
  tools.append(level);
  btn('+', 'zoom in', () => ((zoom = Math.min(16, zoom * 1.25)), apply()));
  btn('fit', 'reset zoom', () => ((zoom = 1), (dx = dy = 0), apply()));
  wrap.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      zoom = Math.min(16, Math.max(0.5, zoom * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
      apply();
    },
    { passive: false },
  );
  let drag: { x: number; y: number } | null = null;
  wrap.addEventListener('pointerdown', (e) => (drag = { x: e.clientX - dx, y: e.clientY - dy }));
  wrap.addEventListener('pointermove', (e) => {
    if (!drag) return;
    dx = e.clientX - drag.x;
    dy = e.clientY - drag.y;
    apply();
  });
  const stop = () => (drag = null);
  wrap.addEventListener('pointerup', stop);
  wrap.addEventListener('pointerleave', stop);
  wrap.append(img, tools);
  apply();
  return { el: wrap, toggle: () => undefined, dispose: () => undefined };
}

export function audioPlayer(src: string): MediaHandle {
  const wrap = document.createElement('div');
  wrap.className = 'media audio';
  const canvas = document.createElement('canvas');
  canvas.width = 800;
  canvas.height = 160;
  const audio = new Audio(src);
  // In the page (hidden: the canvas and the button are the player), so a test or an extension can find it.
  audio.preload = 'auto';
  audio.hidden = true;
  const play = document.createElement('button');
  play.type = 'button';
  play.className = 'play';
  play.textContent = '▶ play (space)';
  const toggle = () => void (audio.paused ? audio.play() : audio.pause());
  play.addEventListener('click', toggle);
  audio.addEventListener('play', () => (play.textContent = '❚❚ pause (space)'));
  audio.addEventListener('pause', () => (play.textContent = '▶ play (space)'));
  const ctx = canvas.getContext('2d')!;
  let peaks: Float32Array | null = null;
  const draw = () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const mid = canvas.height / 2;
    if (peaks) {
      const pos = audio.duration ? audio.currentTime / audio.duration : 0;
      for (let x = 0; x < peaks.length; x++) {
        ctx.fillStyle = x / peaks.length < pos ? '#2563eb' : '#94a3b8';
        const h = Math.max(1, peaks[x] * mid);
        ctx.fillRect(x, mid - h, 1, 2 * h);
      }
    }
    if (!audio.paused) raf = requestAnimationFrame(draw);
  };
  let raf = 0;
  audio.addEventListener('play', () => (raf = requestAnimationFrame(draw)));
  audio.addEventListener('pause', draw);
  canvas.addEventListener('click', (e) => {
    if (audio.duration) audio.currentTime = (e.offsetX / canvas.clientWidth) * audio.duration;
    draw();
  });
  void fetch(src)
    .then((r) => r.arrayBuffer())
    .then((buf) => new AudioContext().decodeAudioData(buf))
    .then((decoded) => {
      const data = decoded.getChannelData(0);
      peaks = new Float32Array(canvas.width);
      const step = Math.max(1, Math.floor(data.length / canvas.width));
      for (let x = 0; x < canvas.width; x++) {
        let m = 0;
        for (let i = x * step; i < Math.min(data.length, (x + 1) * step); i++) m = Math.max(m, Math.abs(data[i]));
        peaks[x] = m;
      }
      draw();
    })
    .catch(() => {
      ctx.fillStyle = '#64748b';
      ctx.fillText('waveform unavailable', 10, 20);
    });
  wrap.append(canvas, play, audio);
  return {
    el: wrap,
    toggle,
    dispose: () => {
      audio.pause();
      cancelAnimationFrame(raf);
    },
  };
}
