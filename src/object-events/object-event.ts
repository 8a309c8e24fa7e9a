// An object event as every door hands it to the trigger pipeline (src/object-events/admission.ts):
// one created, removed, ... object, whichever storage system or transport reported it.

export interface ObjectEvent {
  /** Position in the message's Records. */
  readonly index: number;
  readonly source: 'minio' | 'aws';
  /** "ObjectCreated:Put", "ObjectRemoved:Delete", ... */
  readonly name: string;
  readonly created: boolean;
  readonly bucket: string;
  /** Decoded, byte-exact key. */
  readonly key: string;
  readonly size?: number;
  /** Without surrounding quotes; always present on created events (the dedupe key needs it). */
  readonly eTag?: string;
  readonly sequencer?: string;
}
