// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {AttributeTypes, IJurisdiction} from "./IJurisdiction.sol";

/// @title Jurisdiction: an identity attribute registry (after Zeppelin's TPL).
/// @author Clearline
/// @notice Governance (`DEFAULT_ADMIN_ROLE`) registers attribute types and approves or removes
/// validators per type (several per type). An approved validator issues
/// `(account, type, value, expiresAt)`, at most one record per (account, type), and may revoke what it
/// issued. Removing a validator bumps its approval generation for that type, which voids everything
/// it issued under the old generation; re-approving it does not revive those records.
/// @dev Mirroring from events alone: keep `approval[type][validator] = (approved, generation)` from
/// {ValidatorApproved}/{ValidatorRemoved} and `attribute[account][type] = (value, expiresAt,
/// validator, generation)` from {AttributeIssued} (deleted on {AttributeRevoked}). An attribute is
/// valid at `t` iff it exists, `approval[type][validator]` is approved with the same generation, and
/// `t < expiresAt`. Expiry emits no event. `multicall` batches calls by one sender (e.g. a validator
/// issuing KYC, AML and COUNTRY in one transaction).
contract Jurisdiction is IJurisdiction, AccessControl, Multicall {
    /// @notice Attribute type id: KYC, value 1 = verified.
    uint256 public constant KYC = AttributeTypes.KYC;
    /// @notice Attribute type id: AML, value 1 = cleared.
    uint256 public constant AML = AttributeTypes.AML;
    /// @notice Attribute type id: ACCREDITED, value 1 = accredited investor.
    uint256 public constant ACCREDITED = AttributeTypes.ACCREDITED;
    /// @notice Attribute type id: COUNTRY, value = ISO 3166-1 numeric code.
    uint256 public constant COUNTRY = AttributeTypes.COUNTRY;
    /// @notice Attribute type id: CUSTODIAN, value 1 = custodian (the adjudicator).
    uint256 public constant CUSTODIAN = AttributeTypes.CUSTODIAN;

    /// @dev One slot: whether approved now, and the approval generation in force.
    struct Approval {
        bool approved;
        uint24 generation;
    }

    /// @dev Slot 0 packs everything {hasValidFlag} needs (validator 20 + expiresAt 8 + generation 3 +
    /// flagSet 1 bytes), so the transfer rules' flag checks never read the value slot. Generations are
    /// stored in 24 bits (16.7 million removals of one validator for one type) and reported as uint32.
    struct Attribute {
        address validator;
        uint64 expiresAt;
        uint24 generation;
        bool flagSet;
        uint256 value;
    }

    mapping(uint256 typeId => string name) private _typeNames;
    mapping(uint256 typeId => bool exists) private _typeExists;
    mapping(uint256 typeId => mapping(address validator => Approval)) private _approvals;
    mapping(address account => mapping(uint256 typeId => Attribute)) private _attributes;

    /// @notice Governance registered attribute type `typeId`.
    /// @param typeId The new type's id.
    /// @param name Its label.
    event AttributeTypeAdded(uint256 indexed typeId, string name);
    /// @notice Governance approved `validator` for `typeId`; it issues under `generation`.
    /// @param typeId The attribute type.
    /// @param validator The approved validator.
    /// @param generation The approval generation it issues under.
    event ValidatorApproved(uint256 indexed typeId, address indexed validator, uint32 generation);
    /// @notice Governance removed `validator` for `typeId`; everything it issued for the type under
    /// an older generation is void. `generation` is the new (bumped) generation.
    /// @param typeId The attribute type.
    /// @param validator The removed validator.
    /// @param generation The bumped generation.
    event ValidatorRemoved(uint256 indexed typeId, address indexed validator, uint32 generation);
    /// @notice `validator` issued (or replaced) the attribute of `account` for `typeId`.
    /// @param account The holder.
    /// @param typeId The attribute type.
    /// @param validator The issuing validator.
    /// @param value The value (meaning per type).
    /// @param expiresAt The first timestamp at which it is no longer valid.
    /// @param generation The validator's approval generation at issuance.
    event AttributeIssued(
        address indexed account,
        uint256 indexed typeId,
        address indexed validator,
        uint256 value,
        uint64 expiresAt,
        uint32 generation
    );
    /// @notice `validator` revoked the attribute of `account` for `typeId` (the record is deleted).
    /// @param account The holder.
    /// @param typeId The attribute type.
    /// @param validator The revoking validator (the record's issuer).
    event AttributeRevoked(address indexed account, uint256 indexed typeId, address indexed validator);

    /// @notice `typeId` 0 is reserved.
    error InvalidAttributeType(uint256 typeId);
    /// @notice The attribute type is already registered.
    error AttributeTypeAlreadyExists(uint256 typeId);
    /// @notice The attribute type is not registered.
    error UnknownAttributeType(uint256 typeId);
    /// @notice The admin given at deployment is the zero address.
    error InvalidAdmin(address admin);
    /// @notice The zero address cannot be a validator.
    error InvalidValidator(address validator);
    /// @notice The zero address cannot hold attributes.
    error InvalidAccount(address account);
    /// @notice `validator` is already approved for `typeId`.
    error ValidatorAlreadyApproved(uint256 typeId, address validator);
    /// @notice `validator` was removed for `typeId` so often that its generation cannot be bumped again.
    error GenerationsExhausted(uint256 typeId, address validator);
    /// @notice `account` is not an approved validator for `typeId`.
    error NotValidator(uint256 typeId, address account);
    /// @notice `expiresAt` is not after the current block timestamp `nowTimestamp`.
    error ExpiryNotInFuture(uint64 expiresAt, uint256 nowTimestamp);
    /// @notice `account` has no attribute of `typeId`.
    error AttributeNotFound(address account, uint256 typeId);
    /// @notice `caller` did not issue the attribute of `account` for `typeId` (its issuer is `issuer`).
    error NotIssuer(address account, uint256 typeId, address caller, address issuer);

    /// @notice Deploys the registry with `admin` as governance (`DEFAULT_ADMIN_ROLE`).
    /// @param admin The governance account.
    constructor(address admin) {
        if (admin == address(0)) revert InvalidAdmin(admin);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------------- governance

    /// @notice Registers attribute type `typeId` with a human-readable `name`.
    /// @dev Only `DEFAULT_ADMIN_ROLE`. Emits {AttributeTypeAdded}.
    /// @param typeId The new type's id (non-zero, unused).
    /// @param name A label, e.g. "KYC".
    function addAttributeType(uint256 typeId, string calldata name) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (typeId == 0) revert InvalidAttributeType(typeId);
        if (_typeExists[typeId]) revert AttributeTypeAlreadyExists(typeId);
        _typeExists[typeId] = true;
        _typeNames[typeId] = name;
        emit AttributeTypeAdded(typeId, name);
    }

    /// @notice Approves `validator` to issue attributes of `typeId`.
    /// @dev Only `DEFAULT_ADMIN_ROLE`. The generation is not changed: a validator removed earlier
    /// comes back under its bumped generation, so what it issued before the removal stays void.
    /// Emits {ValidatorApproved}.
    /// @param typeId A registered attribute type.
    /// @param validator The account to approve.
    function approveValidator(uint256 typeId, address validator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_typeExists[typeId]) revert UnknownAttributeType(typeId);
        if (validator == address(0)) revert InvalidValidator(validator);
        Approval storage approval = _approvals[typeId][validator];
        if (approval.approved) revert ValidatorAlreadyApproved(typeId, validator);
        approval.approved = true;
        emit ValidatorApproved(typeId, validator, approval.generation);
    }

    /// @notice Removes `validator`'s approval for `typeId`, voiding every attribute of that type it
    /// issued so far (also after a later re-approval).
    /// @dev Only `DEFAULT_ADMIN_ROLE`. Emits {ValidatorRemoved} with the new generation.
    /// @param typeId The attribute type.
    /// @param validator A currently approved validator for `typeId`.
    function removeValidator(uint256 typeId, address validator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Approval storage approval = _approvals[typeId][validator];
        if (!approval.approved) revert NotValidator(typeId, validator);
        if (approval.generation == type(uint24).max) revert GenerationsExhausted(typeId, validator);
        approval.approved = false;
        uint24 generation = approval.generation + 1;
        approval.generation = generation;
        emit ValidatorRemoved(typeId, validator, generation);
    }

    // ----------------------------------------------------------------------------------- validators

    /// @notice Issues (or replaces) the attribute of `account` for `typeId`, as the caller.
    /// @dev The caller must be an approved validator for `typeId`. Any approved validator of the type
    /// may replace an existing record (e.g. a renewal); the record then belongs to the caller.
    /// Emits {AttributeIssued}.
    /// @param account The holder.
    /// @param typeId The attribute type.
    /// @param value The value (meaning per type, see docs/compliance.md).
    /// @param expiresAt The attribute is valid while `block.timestamp < expiresAt`.
    function issueAttribute(address account, uint256 typeId, uint256 value, uint64 expiresAt) external {
        Approval memory approval = _approvals[typeId][msg.sender];
        if (!approval.approved) revert NotValidator(typeId, msg.sender);
        if (account == address(0)) revert InvalidAccount(account);
        if (expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt, block.timestamp);
        _attributes[account][typeId] = Attribute({
            validator: msg.sender,
            expiresAt: expiresAt,
            generation: approval.generation,
            flagSet: value == AttributeTypes.FLAG_SET,
            value: value
        });
        emit AttributeIssued(account, typeId, msg.sender, value, expiresAt, approval.generation);
    }

    /// @notice Revokes the attribute of `account` for `typeId`; only its issuer may (also after the
    /// issuer's approval was removed).
    /// @dev Deletes the record. Emits {AttributeRevoked}.
    /// @param account The holder.
    /// @param typeId The attribute type.
    function revokeAttribute(address account, uint256 typeId) external {
        address issuer = _attributes[account][typeId].validator;
        if (issuer == address(0)) revert AttributeNotFound(account, typeId);
        if (issuer != msg.sender) revert NotIssuer(account, typeId, msg.sender, issuer);
        delete _attributes[account][typeId];
        emit AttributeRevoked(account, typeId, msg.sender);
    }

    // ---------------------------------------------------------------------------------------- views

    /// @inheritdoc IJurisdiction
    function hasValidAttribute(address account, uint256 typeId) external view returns (bool) {
        return _isValid(_attributes[account][typeId], typeId, false);
    }

    /// @inheritdoc IJurisdiction
    function hasValidFlag(address account, uint256 typeId) external view returns (bool) {
        return _isValid(_attributes[account][typeId], typeId, true);
    }

    /// @inheritdoc IJurisdiction
    function attributeOf(address account, uint256 typeId)
        external
        view
        returns (uint256 value, uint64 expiresAt, address validator, bool valid)
    {
        Attribute storage attribute = _attributes[account][typeId];
        return (attribute.value, attribute.expiresAt, attribute.validator, _isValid(attribute, typeId, false));
    }

    /// @notice The stored generation of the attribute of `account` for `typeId` (0 when none).
    /// @param account The holder.
    /// @param typeId The attribute type.
    /// @return The approval generation the attribute was issued under.
    function attributeGeneration(address account, uint256 typeId) external view returns (uint32) {
        return _attributes[account][typeId].generation;
    }

    /// @inheritdoc IJurisdiction
    function isValidator(uint256 typeId, address validator) external view returns (bool) {
        return _approvals[typeId][validator].approved;
    }

    /// @notice The approval state of `validator` for `typeId`.
    /// @param typeId The attribute type.
    /// @param validator The validator.
    /// @return approved Whether it is approved now.
    /// @return generation The generation in force (bumped on every removal).
    function validatorApproval(uint256 typeId, address validator)
        external
        view
        returns (bool approved, uint32 generation)
    {
        Approval memory approval = _approvals[typeId][validator];
        return (approval.approved, approval.generation);
    }

    /// @notice Whether attribute type `typeId` is registered.
    /// @param typeId The attribute type.
    /// @return True when registered.
    function attributeTypeExists(uint256 typeId) external view returns (bool) {
        return _typeExists[typeId];
    }

    /// @notice The name attribute type `typeId` was registered with ("" when unknown).
    /// @param typeId The attribute type.
    /// @return The registered name.
    function attributeTypeName(uint256 typeId) external view returns (string memory) {
        return _typeNames[typeId];
    }

    /// @dev Valid now; with `flagRequired`, also of value 1. The fields of slot 0 are read together.
    function _isValid(Attribute storage attribute, uint256 typeId, bool flagRequired) private view returns (bool) {
        (address validator, uint64 expiresAt, uint24 generation, bool flagSet) =
            (attribute.validator, attribute.expiresAt, attribute.generation, attribute.flagSet);
        if (validator == address(0) || block.timestamp >= expiresAt || (flagRequired && !flagSet)) return false;
        Approval memory approval = _approvals[typeId][validator];
        return approval.approved && approval.generation == generation;
    }
}
