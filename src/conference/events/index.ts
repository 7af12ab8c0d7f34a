/** RFC 4575 conference event package: the conference-info builder and the package on the RFC 6665 notifier. */
export * from './conference-info';
export {
  ConferenceEventPackage,
  type ConferenceEventPackageOptions,
  type ConferenceView,
} from './conference-event-package';
export { ConferenceSubscription } from './conference-subscription';
export * from './participant-info';
