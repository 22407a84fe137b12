// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {AttributeTypes, IJurisdiction} from "../identity/IJurisdiction.sol";
import {ITransferRules} from "./ITransferRules.sol";
import {RestrictionCodes} from "./RestrictionCodes.sol";

/// @title TransferRules: steps 5–10 of the evaluation order in docs/compliance.md.
/// @author Clearline
/// @notice Reads identity attributes from a {IJurisdiction} (a flag attribute counts only when valid
/// and of value 1) and its own per-token configuration:
/// accreditation required, blocked receiver countries, per-holder lock-ups and a maximum balance per
/// holder. One instance serves one token. `RULES_ADMIN_ROLE` changes the configuration;
/// `DEFAULT_ADMIN_ROLE` (governance) manages roles.
/// @dev The checks are evaluated lazily but the result is exactly the first failing step of the spec.
contract TransferRules is ITransferRules, AccessControl {
    using EnumerableSet for EnumerableSet.UintSet;

    /// @notice May change the configuration (accreditation, countries, lock-ups, maximum balance).
    bytes32 public constant RULES_ADMIN_ROLE = keccak256("RULES_ADMIN_ROLE");

    IJurisdiction private immutable _JURISDICTION;
    bool private _accreditationRequired;
    uint256 private _maxBalance;
    EnumerableSet.UintSet private _blockedCountries;
    mapping(address holder => uint64 until) private _lockups;

    /// @notice Accreditation of receivers became required (`required`) or not.
    /// @param required Whether required now.
    event AccreditationRequirementChanged(bool required);
    /// @notice Receivers whose country is `country` are now blocked (`blocked`) or not.
    /// @param country ISO 3166-1 numeric code (0 = no valid COUNTRY attribute).
    /// @param blocked Whether blocked now.
    event CountryBlockChanged(uint256 indexed country, bool blocked);
    /// @notice `holder` may not send to a non-custodian while `block.timestamp < until`.
    /// @param holder The holder.
    /// @param until The first timestamp at which the holder is free (0 = no lock-up).
    event LockupChanged(address indexed holder, uint64 until);
    /// @notice The maximum balance per holder is now `maxBalance` (0 = no maximum).
    /// @param maxBalance The maximum, in token base units.
    event MaxBalanceChanged(uint256 maxBalance);

    /// @notice The jurisdiction given at deployment is the zero address.
    error InvalidJurisdiction(address jurisdiction);
    /// @notice The admin given at deployment is the zero address.
    error InvalidAdmin(address admin);
    /// @notice A lock-up was set for the zero address.
    error InvalidHolder(address holder);

    /// @notice Deploys rules reading `jurisdiction_`, administered by `admin`.
    /// @dev `admin` receives `DEFAULT_ADMIN_ROLE` and `RULES_ADMIN_ROLE`. Starts with no
    /// accreditation requirement, no blocked country, no lock-up and no maximum balance.
    /// @param jurisdiction_ The identity registry.
    /// @param admin Governance.
    constructor(IJurisdiction jurisdiction_, address admin) {
        if (address(jurisdiction_) == address(0)) revert InvalidJurisdiction(address(jurisdiction_));
        if (admin == address(0)) revert InvalidAdmin(admin);
        _JURISDICTION = jurisdiction_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(RULES_ADMIN_ROLE, admin);
    }

    // -------------------------------------------------------------------------------- configuration

    /// @notice Requires (or stops requiring) a valid ACCREDITED attribute of value 1 of non-custodian receivers.
    /// @dev Only `RULES_ADMIN_ROLE`. Emits {AccreditationRequirementChanged}.
    /// @param required Whether accreditation is required.
    function setAccreditationRequired(bool required) external onlyRole(RULES_ADMIN_ROLE) {
        _accreditationRequired = required;
        emit AccreditationRequirementChanged(required);
    }

    /// @notice Blocks (or unblocks) receivers whose valid COUNTRY value is `country`.
    /// @dev Only `RULES_ADMIN_ROLE`. Blocking 0 blocks receivers without a valid COUNTRY attribute.
    /// Emits {CountryBlockChanged}.
    /// @param country ISO 3166-1 numeric code.
    /// @param blocked Whether to block it.
    function setCountryBlocked(uint256 country, bool blocked) external onlyRole(RULES_ADMIN_ROLE) {
        if (blocked) {
            _blockedCountries.add(country);
        } else {
            _blockedCountries.remove(country);
        }
        emit CountryBlockChanged(country, blocked);
    }

    /// @notice Locks `holder`'s tokens until `until`: while `block.timestamp < until` it may only send
    /// to custodians (a channel deposit is no change of ownership). 0 clears the lock-up.
    /// @dev Only `RULES_ADMIN_ROLE`. Emits {LockupChanged}.
    /// @param holder The holder.
    /// @param until The first timestamp at which the holder is free.
    function setLockup(address holder, uint64 until) external onlyRole(RULES_ADMIN_ROLE) {
        if (holder == address(0)) revert InvalidHolder(holder);
        _lockups[holder] = until;
        emit LockupChanged(holder, until);
    }

    /// @notice Sets the maximum balance per non-custodian holder (0 = no maximum).
    /// @dev Only `RULES_ADMIN_ROLE`. Emits {MaxBalanceChanged}.
    /// @param maxBalance_ The maximum, in token base units.
    function setMaxBalance(uint256 maxBalance_) external onlyRole(RULES_ADMIN_ROLE) {
        _maxBalance = maxBalance_;
        emit MaxBalanceChanged(maxBalance_);
    }

    // ---------------------------------------------------------------------------------------- rules

    /// @inheritdoc ITransferRules
    function detect(address from, address to, uint256 value, uint256 receiverBalance)
        external
        view
        returns (uint8)
    {
        return _detect(from, to, value, receiverBalance, true);
    }

    /// @inheritdoc ITransferRules
    function detectCustodial(address from, address to, uint256 value, uint256 receiverBalance)
        external
        view
        returns (uint8)
    {
        return _detect(from, to, value, receiverBalance, false);
    }

    /// @inheritdoc ITransferRules
    function isCustodian(address account) external view returns (bool) {
        return _isCustodian(account);
    }

    /// @inheritdoc ITransferRules
    /// @dev The custodian check first: the usual spender is the adjudicator pulling a deposit.
    function isSpenderAllowed(address spender) external view returns (bool) {
        return _isCustodian(spender) || _isEligible(spender);
    }

    // ---------------------------------------------------------------------------------------- views

    /// @notice The identity registry these rules read.
    /// @return The jurisdiction.
    function jurisdiction() external view returns (IJurisdiction) {
        return _JURISDICTION;
    }

    /// @notice Whether non-custodian receivers need a valid ACCREDITED attribute.
    /// @return True when required.
    function accreditationRequired() external view returns (bool) {
        return _accreditationRequired;
    }

    /// @notice Whether receivers from `country` are blocked.
    /// @param country ISO 3166-1 numeric code (0 = no valid COUNTRY attribute).
    /// @return True when blocked.
    function isCountryBlocked(uint256 country) external view returns (bool) {
        return _blockedCountries.contains(country);
    }

    /// @notice All blocked countries, in no particular order.
    /// @return The blocked ISO 3166-1 numeric codes.
    function blockedCountries() external view returns (uint256[] memory) {
        return _blockedCountries.values();
    }

    /// @notice The timestamp until which `holder` is locked up (0 = none).
    /// @param holder The holder.
    /// @return The lock-up end; locked while `block.timestamp < lockupOf(holder)`.
    function lockupOf(address holder) external view returns (uint64) {
        return _lockups[holder];
    }

    /// @notice The maximum balance per non-custodian holder (0 = no maximum).
    /// @return The maximum, in token base units.
    function maxBalance() external view returns (uint256) {
        return _maxBalance;
    }

    /// @dev Steps 5–10; `custodyExempt` false evaluates both parties as investors (custodial release).
    function _detect(address from, address to, uint256 value, uint256 receiverBalance, bool custodyExempt)
        private
        view
        returns (uint8)
    {
        bool toCustodian = custodyExempt && to != address(0) && _isCustodian(to);
        // 5. sender eligible (custodians exempt)
        if (from != address(0) && !_isEligible(from) && !(custodyExempt && _isCustodian(from))) {
            return RestrictionCodes.SENDER_NOT_ELIGIBLE;
        }
        // 6. receiver eligible (custodians exempt)
        if (to != address(0) && !toCustodian && !_isEligible(to)) return RestrictionCodes.RECEIVER_NOT_ELIGIBLE;
        // 7. sender lock-up, unless depositing into a custodian
        if (from != address(0) && !toCustodian && block.timestamp < _lockups[from]) {
            return RestrictionCodes.SENDER_LOCKED;
        }
        // 8.–10. only concern a non-custodian receiver
        if (to == address(0) || toCustodian) return RestrictionCodes.SUCCESS;
        if (_accreditationRequired && !_hasFlag(to, AttributeTypes.ACCREDITED)) {
            return RestrictionCodes.RECEIVER_NOT_ACCREDITED;
        }
        if (_blockedCountries.length() != 0) {
            (uint256 country, , , bool valid) = _JURISDICTION.attributeOf(to, AttributeTypes.COUNTRY);
            if (_blockedCountries.contains(valid ? country : 0)) return RestrictionCodes.RECEIVER_COUNTRY_BLOCKED;
        }
        // holdings + value > max, written so that it cannot overflow
        uint256 maxBalance_ = _maxBalance;
        if (maxBalance_ != 0 && (value > maxBalance_ || receiverBalance > maxBalance_ - value)) {
            return RestrictionCodes.MAX_BALANCE_EXCEEDED;
        }
        return RestrictionCodes.SUCCESS;
    }

    function _isCustodian(address account) private view returns (bool) {
        return _hasFlag(account, AttributeTypes.CUSTODIAN);
    }

    function _isEligible(address account) private view returns (bool) {
        return _hasFlag(account, AttributeTypes.KYC) && _hasFlag(account, AttributeTypes.AML);
    }

    /// @dev Valid *and* of value 1: a validator recording another value (e.g. 0 = rejected) grants nothing.
    function _hasFlag(address account, uint256 typeId) private view returns (bool) {
        return _JURISDICTION.hasValidFlag(account, typeId);
    }
}
