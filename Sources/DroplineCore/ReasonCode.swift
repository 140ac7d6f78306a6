/// Every reason code Dropline writes: file-level quarantine and skip reasons, record-level
/// rejection, hold and skip reasons. Raw values are stable: add, never rename.
/// `docs/error-codes.md` lists them; a test keeps the two in sync.
public enum ReasonCode: String, Sendable, Codable, CaseIterable, Hashable {
    // File level (interface contract §1.9, §9)
    case duplicateFile = "duplicate_file"
    case notWellFormed = "not_well_formed"
    case badEncoding = "bad_encoding"
    case dtdForbidden = "dtd_forbidden"
    case schemaRoot = "schema_root"
    case controlTotalMismatch = "control_total_mismatch"
    case exportIdConflict = "export_id_conflict"
    // File level, Dropline's own operational reasons
    case noPipeline = "no_pipeline"
    case sizeLimit = "size_limit"
    case depthLimit = "depth_limit"
    case entityLimit = "entity_limit"
    case unreadableFile = "unreadable_file"
    case emptyFile = "empty_file"
    case unsafeName = "unsafe_name"

    // Record level
    case invalidField = "invalid_field"
    case overlappingValidity = "overlapping_validity"
    case invalidTermination = "invalid_termination"
    case unknownProject = "unknown_project"
    case erpNumberConflict = "erp_number_conflict"
    case duplicateRecord = "duplicate_record"
    case unknownReference = "unknown_reference"
    case unmappedValue = "unmapped_value"

    // Time entries (contract §4.3)
    case invalidHours = "invalid_hours"
    case dateOutsideWeek = "date_outside_week"
    case unknownWorker = "unknown_worker"
    case workerInactive = "worker_inactive"
    case projectNotOpen = "project_not_open"
    case unmappedCategory = "unmapped_category"
    case billableOnNonbillable = "billable_on_nonbillable"
    case noRate = "no_rate"
    case periodUnknown = "period_unknown"
    case periodClosed = "period_closed"
    case periodClosing = "period_closing"
    case dayOver24 = "day_over_24"
    case noErpProjectNumber = "no_erp_project_number"
    case notApproved = "not_approved"
    case alreadyPosted = "already_posted"
    case superseded = "superseded"

    /// One sentence for reviewers: what the code means.
    public var meaning: String {
        switch self {
        case .duplicateFile: "byte-identical to a file seen before; nothing loaded"
        case .notWellFormed: "not well-formed XML (truncated or broken markup)"
        case .badEncoding: "bytes invalid in the file's encoding"
        case .dtdForbidden: "the document has a DOCTYPE, which exports never carry"
        case .schemaRoot: "wrong root element, root attributes, trailer or top-level structure"
        case .controlTotalMismatch: "trailer totals differ from the file's content"
        case .exportIdConflict: "export id reused with different content"
        case .noPipeline: "no pipeline claims this file name"
        case .sizeLimit: "the file or one of its records exceeds a configured size limit"
        case .depthLimit: "elements are nested deeper than the configured limit"
        case .entityLimit: "entity expansion exceeds the configured limit"
        case .unreadableFile: "the file could not be read"
        case .emptyFile: "the file is empty"
        case .unsafeName: "the file name or type is unsafe (symlink, directory, control characters)"
        case .invalidField: "a field breaks the interface schema or an intra-record rule"
        case .overlappingValidity: "the validity range would overlap another range of the same key"
        case .invalidTermination: "TERMINATE without an open range, with an open end date, or before the range starts"
        case .unknownProject: "project code not in the project master"
        case .erpNumberConflict: "project already has a different ERP number"
        case .duplicateRecord: "the same key occurs twice in the file"
        case .unknownReference: "the value is not in the referenced master data"
        case .unmappedValue: "the value has no entry in the governed mapping"
        case .invalidHours: "hours are zero or less, above 24, or not a multiple of 0.01"
        case .dateOutsideWeek: "entry date outside the timesheet week"
        case .unknownWorker: "no worker-master record for the worker (held)"
        case .workerInactive: "worker exists but no validity range covers the date"
        case .projectNotOpen: "project not active or date outside its start and end"
        case .unmappedCategory: "time category not in the governed category mapping"
        case .billableOnNonbillable: "billable time on a non-billable or non-client project"
        case .noRate: "no effective rate for the worker's role and region"
        case .periodUnknown: "no fiscal period covers the date"
        case .periodClosed: "the fiscal period is closed"
        case .periodClosing: "the fiscal period is closing (held)"
        case .dayOver24: "the worker's posted hours on that day would exceed 24"
        case .noErpProjectNumber: "the project has no ERP project number yet (held)"
        case .notApproved: "the timesheet is not approved"
        case .alreadyPosted: "identical content already posted"
        case .superseded: "a newer version of the held entry arrived"
        }
    }

    /// What the operator or reviewer does about it.
    public var remedy: String {
        switch self {
        case .duplicateFile: "Nothing to do; the file was already processed."
        case .notWellFormed, .badEncoding, .schemaRoot, .controlTotalMismatch:
            "Ask the sending system to re-export the file."
        case .dtdForbidden: "Ask the sending system to export without a DOCTYPE."
        case .exportIdConflict: "Ask the sender for a new export id, or confirm which version is right."
        case .noPipeline: "Rename the file to match a pipeline's pattern, or add a pipeline for it."
        case .sizeLimit, .depthLimit, .entityLimit: "Check the export with the sender; raise the limit in dropline.yaml only if the file is legitimate."
        case .unreadableFile: "Fix the file permissions and drop it again."
        case .emptyFile: "Ask the sender to re-send the file; it arrived empty."
        case .unsafeName: "Drop a regular file with a plain name."
        default: "Correct the value in the rejected file and resubmit it."
        }
    }
}
