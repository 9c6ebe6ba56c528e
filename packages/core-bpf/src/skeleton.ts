/**
 * Typed access to an object's programs and maps, declared once next to the BPF program:
 *
 *   const spec = defineSkeleton({
 *     programs: ['classify'],
 *     maps: { routes: { key: codecs.ipv4Cidr, value: Route }, hits: { key: codecs.u32, value: codecs.u64, perCpu: true } },
 *   });
 *   const skel = loadSkeleton(file, spec, { maps: { routes: { pinPath } } });
 *   skel.maps.routes.reconcile(...); attach(skel.programs.classify); ...; skel.close();
 *
 * Every declared program and map must exist and every codec must match the object's map definitions
 * and BTF before anything is created in the kernel; pinned maps that are reused are checked again
 * against their own BTF after load.
 */
import { BpfObject, type LoadOptions, type OpenOptions } from './bpf-object.js';
import type { Codec } from './codec/codec.js';
import { MapLayoutError, NotFoundError } from './errors.js';
import { assertCodecLayouts, assertCodecSizes } from './map-layout.js';
import { isPerCpuMapType } from './map-type.js';
import type { Program } from './program.js';
import { TypedMap } from './typed-map.js';

export interface MapBinding<K, V> {
  readonly key: Codec<K>;
  readonly value: Codec<V>;
  /** True for per-CPU maps: values are arrays, one element per possible CPU. */
  readonly perCpu?: boolean;
}

export interface SkeletonSpec<P extends string, M extends Record<string, MapBinding<any, any>>> {
  readonly programs: readonly P[];
  readonly maps: M;
}

export type SkeletonMaps<M extends Record<string, MapBinding<any, any>>> = {
  readonly [N in keyof M]: M[N] extends MapBinding<infer K, infer V>
    ? M[N]['perCpu'] extends true
      ? TypedMap<K, V[]>
      : TypedMap<K, V>
    : never;
};

export interface Skeleton<P extends string, M extends Record<string, MapBinding<any, any>>> {
  readonly object: BpfObject;
  readonly programs: { readonly [N in P]: Program };
  readonly maps: SkeletonMaps<M>;
  close(): void;
  [Symbol.dispose](): void;
}

/** Declare an object's programs and typed maps (an identity function that keeps the literal types). */
export function defineSkeleton<const P extends string, const M extends Record<string, MapBinding<any, any>>>(
  spec: SkeletonSpec<P, M>,
): SkeletonSpec<P, M> {
  return spec;
}

/** Open, check, configure and load an object, returning its typed programs and maps. */
export function loadSkeleton<P extends string, M extends Record<string, MapBinding<any, any>>>(
  path: string,
  spec: SkeletonSpec<P, M>,
  options: OpenOptions & LoadOptions = {},
): Skeleton<P, M> {
  const object = BpfObject.open(path, { name: options.name, pinRoot: options.pinRoot });
  try {
    checkSpec(object, spec);
    object.load(options);
    const programs: Record<string, Program> = {};
    for (const name of spec.programs) programs[name] = object.program(name);
    const maps: Record<string, TypedMap<unknown, unknown>> = {};
    for (const [name, b] of Object.entries(spec.maps)) {
      const map = object.map(name);
      maps[name] = b.perCpu ? TypedMap.wrapPerCpu(map, b.key, b.value) : TypedMap.wrap(map, b.key, b.value);
    }
    return {
      object,
      programs: programs as Skeleton<P, M>['programs'],
      maps: maps as SkeletonMaps<M>,
      close: () => object.close(),
      [Symbol.dispose]: () => object.close(),
    };
  } catch (err) {
    object.close();
    throw err;
  }
}

function checkSpec(object: BpfObject, spec: SkeletonSpec<string, Record<string, MapBinding<any, any>>>): void {
  const programs = new Set(object.programSpecs().map((p) => p.name));
  const maps = new Map(object.mapSpecs().map((m) => [m.name, m]));
  const missing = [
    ...spec.programs.filter((p) => !programs.has(p)).map((p) => `program ${p}`),
    ...Object.keys(spec.maps).filter((m) => !maps.has(m)).map((m) => `map ${m}`),
  ];
  if (missing.length > 0) {
    throw new NotFoundError(
      `${missing.join(', ')} in ${object.path} (programs: ${[...programs].join(', ') || 'none'}; maps: ${[...maps.keys()].join(', ') || 'none'})`,
    );
  }
  const btf = object.btf();
  for (const [name, b] of Object.entries(spec.maps)) {
    const def = maps.get(name)!;
    if (isPerCpuMapType(def.type) !== Boolean(b.perCpu)) {
      throw new MapLayoutError(name, `declared ${b.perCpu ? 'perCpu: true' : 'without perCpu'}, but it is a ${def.type} map`);
    }
    assertCodecSizes(name, def, b.key, b.value);
    if (btf) assertCodecLayouts(name, btf, object.mapBtfTypeIds(name), b.key, b.value);
  }
}
