import { useLayoutEffect, useRef, useState, type RefObject } from 'react';

/**
 * The width (CSS pixels, rounded down) of the element the returned ref is put on, kept current by a
 * ResizeObserver; null before the first measurement. Measured once synchronously before the first paint,
 * then on every resize, coalesced into one update per animation frame (a state update inside the observer's
 * callback could resize the element again in the same frame).
 */
export function useElementWidth<E extends HTMLElement>(): [RefObject<E | null>, number | null] {
  const ref = useRef<E>(null);
  const [width, setWidth] = useState<number | null>(null);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    setWidth(Math.floor(element.getBoundingClientRect().width));
    if (typeof ResizeObserver === 'undefined') return;
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => setWidth(Math.floor(element.getBoundingClientRect().width)));
    });
    observer.observe(element);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
    };
  }, []);
  return [ref, width];
}
