// Image quotas count per UTC hour, day and month: every gateway agrees on the windows whatever its time zone.

export const imageWindows = ['hour', 'day', 'month'] as const;
export type ImageWindow = (typeof imageWindows)[number];

export type WindowStarts = Record<ImageWindow, Date>;

export function windowStarts(at: Date): WindowStarts {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  const day = at.getUTCDate();
  return {
    hour: new Date(Date.UTC(year, month, day, at.getUTCHours())),
    day: new Date(Date.UTC(year, month, day)),
    month: new Date(Date.UTC(year, month, 1)),
  };
}

export function windowEnd(window: ImageWindow, start: Date): Date {
  const end = new Date(start);
  if (window === 'hour') end.setUTCHours(end.getUTCHours() + 1);
  else if (window === 'day') end.setUTCDate(end.getUTCDate() + 1);
  else end.setUTCMonth(end.getUTCMonth() + 1);
  return end;
}
