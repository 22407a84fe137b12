// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC1404} from "../interfaces/IERC1404.sol";
import {IRestrictedToken} from "../interfaces/IRestrictedToken.sol";
import {ITransferRules} from "./ITransferRules.sol";
import {RestrictionCodes} from "./RestrictionCodes.sol";

/// @title RestrictedToken: an ERC-1404 security token whose transfers ask a replaceable rules contract.
/// @author Clearline
/// @notice Steps 1–4 of docs/compliance.md (paused, sender frozen, receiver frozen, balance) are
/// evaluated here, steps 5–10 by {ITransferRules}. Transfers, `transferFrom` and mints go through
/// `_update`, the single override point, and revert with {TransferRestricted} on a non-zero code; a
/// spender acting for someone else must itself be unfrozen and eligible (or a custodian). Burns
/// (issuer only) and forced transfers (controller only) bypass the rules but never touch a custodian's
/// holdings. A custodian may pay a controller or the treasury without the receiver rules (recovery).
/// @dev Roles: `DEFAULT_ADMIN_ROLE` manages roles; `ISSUER_ROLE` mints, burns, pauses, freezes,
/// replaces the rules and designates the treasury; `CONTROLLER_ROLE` forces transfers (ERC-1644 style).
contract RestrictedToken is IRestrictedToken, ERC20, AccessControl, Pausable {
    /// @notice Mints, burns, pauses/unpauses, freezes/unfreezes and replaces the rules contract.
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    /// @notice Forces transfers, bypassing the rules.
    bytes32 public constant CONTROLLER_ROLE = keccak256("CONTROLLER_ROLE");

    uint8 private immutable _DECIMALS;
    ITransferRules private _rules;
    address private _treasury;
    mapping(address account => bool) private _frozen;

    /// @notice The issuer `issuer` froze `account`.
    /// @param account The frozen account.
    /// @param issuer The issuer that froze it.
    event AddressFrozen(address indexed account, address indexed issuer);
    /// @notice The issuer `issuer` unfroze `account`.
    /// @param account The unfrozen account.
    /// @param issuer The issuer that unfroze it.
    event AddressUnfrozen(address indexed account, address indexed issuer);
    /// @notice The rules contract changed from `previousRules` to `newRules`.
    /// @param previousRules The rules before (zero at deployment).
    /// @param newRules The rules now in force.
    event RulesReplaced(address indexed previousRules, address indexed newRules);
    /// @notice `controller` moved `value` from `from` to `to` bypassing the rules, for `reason`.
    /// @param controller The controller that forced the transfer.
    /// @param from The holder.
    /// @param to The receiver.
    /// @param value The amount in base units.
    /// @param reason The controller's free-form reason.
    event ForcedTransferred(
        address indexed controller, address indexed from, address indexed to, uint256 value, bytes reason
    );
    /// @notice The recovery treasury changed from `previousTreasury` to `newTreasury` (zero = none).
    /// @param previousTreasury The treasury before.
    /// @param newTreasury The treasury now.
    event TreasuryChanged(address indexed previousTreasury, address indexed newTreasury);

    /// @notice The transfer (or mint) is restricted with ERC-1404 `code` and its `message`.
    error TransferRestricted(uint8 code, string message);
    /// @notice The admin given at deployment is the zero address.
    error InvalidAdmin(address admin);
    /// @notice The rules contract given is the zero address.
    error InvalidRules(address rules);
    /// @notice The account to freeze is the zero address.
    error InvalidAccount(address account);
    /// @notice A custodial release names the zero address as sender or receiver.
    error InvalidCustodialRelease(address from, address to);
    /// @notice `account` is already frozen.
    error AccountAlreadyFrozen(address account);
    /// @notice `account` is not frozen.
    error AccountNotFrozen(address account);
    /// @notice `spender` is frozen and may not move `from`'s tokens with an allowance.
    error SpenderFrozen(address spender, address from);
    /// @notice `spender` lacks valid KYC/AML (and is no custodian) and may not move `from`'s tokens.
    error SpenderNotEligible(address spender, address from);
    /// @notice `custodian` holds tokens on behalf of investors: no burn or forced transfer may take them.
    error CustodyProtected(address custodian);

    /// @notice Deploys the token.
    /// @dev `admin` receives `DEFAULT_ADMIN_ROLE`, `ISSUER_ROLE` and `CONTROLLER_ROLE`; governance may
    /// split them afterwards.
    /// @param name_ ERC-20 name.
    /// @param symbol_ ERC-20 symbol.
    /// @param decimals_ ERC-20 decimals (security tokens often 0 or 18).
    /// @param admin The initial governance, issuer and controller.
    /// @param rules_ The rules contract (steps 5–10).
    constructor(string memory name_, string memory symbol_, uint8 decimals_, address admin, ITransferRules rules_)
        ERC20(name_, symbol_)
    {
        if (admin == address(0)) revert InvalidAdmin(admin);
        if (address(rules_) == address(0)) revert InvalidRules(address(rules_));
        _DECIMALS = decimals_;
        _rules = rules_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ISSUER_ROLE, admin);
        _grantRole(CONTROLLER_ROLE, admin);
        emit RulesReplaced(address(0), address(rules_));
    }

    // ------------------------------------------------------------------------------------- ERC-1404

    /// @inheritdoc IERC1404
    /// @dev Steps 1–4 here, then `rules().detect(from, to, value, balanceOf(to))`; `from == 0` is a
    /// mint, `to == 0` a burn. Recovery: a custodian paying a controller or the treasury passes after
    /// step 4 (steps 5–10 are about investors; neither party is one).
    function detectTransferRestriction(address from, address to, uint256 value) public view returns (uint8) {
        if (paused()) return RestrictionCodes.PAUSED;
        if (_frozen[from]) return RestrictionCodes.SENDER_FROZEN;
        if (_frozen[to]) return RestrictionCodes.RECEIVER_FROZEN;
        if (from != address(0) && balanceOf(from) < value) return RestrictionCodes.INSUFFICIENT_BALANCE;
        uint8 code = _rules.detect(from, to, value, to == address(0) ? 0 : balanceOf(to));
        // Asked only when a rule fails, so ordinary transfers pay nothing for the recovery exemption.
        if (code != RestrictionCodes.SUCCESS && _isRecoveryRecipient(to) && _rules.isCustodian(from)) {
            return RestrictionCodes.SUCCESS;
        }
        return code;
    }

    /// @inheritdoc IRestrictedToken
    function detectCustodialTransferRestriction(address from, address to, uint256 value)
        external
        view
        returns (uint8)
    {
        if (from == address(0) || to == address(0)) revert InvalidCustodialRelease(from, to);
        if (paused()) return RestrictionCodes.PAUSED;
        if (_frozen[from]) return RestrictionCodes.SENDER_FROZEN;
        if (_frozen[to]) return RestrictionCodes.RECEIVER_FROZEN;
        return _rules.detectCustodial(from, to, value, balanceOf(to));
    }

    /// @inheritdoc IERC1404
    /// @dev Exactly the messages of the table in docs/compliance.md; "Unknown restriction code" otherwise.
    function messageForTransferRestriction(uint8 restrictionCode) external pure returns (string memory) {
        return RestrictionCodes.message(restrictionCode);
    }

    // ------------------------------------------------------------------------------- issuer controls

    /// @notice Mints `amount` to `to`; the receiver is checked (steps 1–10 with `from = 0`).
    /// @dev Only `ISSUER_ROLE`. Reverts with {TransferRestricted} on a non-zero code.
    /// @param to The receiver.
    /// @param amount The amount in base units.
    function mint(address to, uint256 amount) external onlyRole(ISSUER_ROLE) {
        _mint(to, amount);
    }

    /// @notice Burns `amount` from `from`, bypassing the rules (also while paused or frozen).
    /// @dev Only `ISSUER_ROLE`. Needs no allowance. Reverts with {CustodyProtected} when `from` is a
    /// custodian: its tokens belong to investors.
    /// @param from The holder.
    /// @param amount The amount in base units.
    function burn(address from, uint256 amount) external onlyRole(ISSUER_ROLE) {
        if (_rules.isCustodian(from)) revert CustodyProtected(from);
        _burn(from, amount);
    }

    /// @notice Pauses all transfers and mints (code 0x54). Burns and forced transfers still work.
    /// @dev Only `ISSUER_ROLE`. Emits {Pausable-Paused}.
    function pause() external onlyRole(ISSUER_ROLE) {
        _pause();
    }

    /// @notice Ends a pause.
    /// @dev Only `ISSUER_ROLE`. Emits {Pausable-Unpaused}.
    function unpause() external onlyRole(ISSUER_ROLE) {
        _unpause();
    }

    /// @notice Freezes `account`: it can neither send (0xA0) nor receive (0xA1).
    /// @dev Only `ISSUER_ROLE`. Emits {AddressFrozen}.
    /// @param account The account to freeze.
    function freeze(address account) external onlyRole(ISSUER_ROLE) {
        if (account == address(0)) revert InvalidAccount(account);
        if (_frozen[account]) revert AccountAlreadyFrozen(account);
        _frozen[account] = true;
        emit AddressFrozen(account, msg.sender);
    }

    /// @notice Unfreezes `account`.
    /// @dev Only `ISSUER_ROLE`. Emits {AddressUnfrozen}.
    /// @param account A frozen account.
    function unfreeze(address account) external onlyRole(ISSUER_ROLE) {
        if (!_frozen[account]) revert AccountNotFrozen(account);
        _frozen[account] = false;
        emit AddressUnfrozen(account, msg.sender);
    }

    /// @notice Points the token at a new rules contract (a new regulation is a new rules contract).
    /// @dev Only `ISSUER_ROLE`. Emits {RulesReplaced}.
    /// @param newRules The new rules contract.
    function replaceRules(ITransferRules newRules) external onlyRole(ISSUER_ROLE) {
        if (address(newRules) == address(0)) revert InvalidRules(address(newRules));
        address previous = address(_rules);
        _rules = newRules;
        emit RulesReplaced(previous, address(newRules));
    }

    /// @notice Moves `amount` from `from` to `to` bypassing every rule (paused, frozen, eligibility,
    /// lock-up, ...), ERC-1644 style, e.g. to recover a frozen holder's tokens. Never from a custodian:
    /// tokens in custody are recovered through the custodian (the adjudicator's controller recovery).
    /// @dev Only `CONTROLLER_ROLE`. Emits {IERC20-Transfer} and {ForcedTransferred}. Reverts with
    /// {CustodyProtected} when `from` is a custodian, with the ERC-20 errors on a zero address or an
    /// insufficient balance.
    /// @param from The holder.
    /// @param to The receiver.
    /// @param amount The amount in base units.
    /// @param reason Free-form reason (e.g. a court order reference).
    function forceTransfer(address from, address to, uint256 amount, bytes calldata reason)
        external
        onlyRole(CONTROLLER_ROLE)
    {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (_rules.isCustodian(from)) revert CustodyProtected(from);
        // ERC20's accounting directly: forced transfers skip this contract's rule check in `_update`.
        super._update(from, to, amount);
        emit ForcedTransferred(msg.sender, from, to, amount, reason);
    }

    /// @notice Designates the recovery treasury: like a controller, it may receive from a custodian
    /// without the receiver rules (steps 5–10), so a frozen holder's claimable balance can be recovered
    /// to it. Zero removes the designation.
    /// @dev Only `ISSUER_ROLE`. Emits {TreasuryChanged}.
    /// @param newTreasury The treasury, or zero for none.
    function setTreasury(address newTreasury) external onlyRole(ISSUER_ROLE) {
        address previous = _treasury;
        _treasury = newTreasury;
        emit TreasuryChanged(previous, newTreasury);
    }

    // ----------------------------------------------------------------------------------- ERC-20

    /// @notice ERC-20 `transferFrom`. A spender acting for someone else (`spender != from`) must not be
    /// frozen and must be eligible (valid KYC and AML of value 1) or a custodian: an allowance does not
    /// let a frozen or unverified account move tokens.
    /// @dev The spender is checked first ({SpenderFrozen}, {SpenderNotEligible}), then the transfer
    /// as every transfer ({TransferRestricted}). A spender paying itself (the adjudicator pulling a
    /// deposit) is the receiver, whose rules (steps 3 and 6) already say the same.
    /// @param from The holder.
    /// @param to The receiver.
    /// @param value The amount in base units.
    /// @return True (reverts otherwise).
    function transferFrom(address from, address to, uint256 value) public override(ERC20, IERC20) returns (bool) {
        address spender = _msgSender();
        if (spender != from && spender != to) {
            if (_frozen[spender]) revert SpenderFrozen(spender, from);
            if (!_rules.isSpenderAllowed(spender)) revert SpenderNotEligible(spender, from);
        }
        return super.transferFrom(from, to, value);
    }

    // ---------------------------------------------------------------------------------------- views

    /// @inheritdoc IRestrictedToken
    function isController(address account) external view returns (bool) {
        return hasRole(CONTROLLER_ROLE, account);
    }

    /// @inheritdoc IRestrictedToken
    function isFrozen(address account) external view returns (bool) {
        return _frozen[account];
    }

    /// @notice The recovery treasury designated by the issuer (zero = none).
    /// @return The treasury.
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @notice The rules contract asked for steps 5–10.
    /// @return The current rules contract.
    function rules() external view returns (ITransferRules) {
        return _rules;
    }

    /// @notice The number of decimals set at deployment.
    /// @return The decimals.
    function decimals() public view override returns (uint8) {
        return _DECIMALS;
    }

    /// @notice ERC-165: AccessControl, ERC-20, ERC-1404 and {IRestrictedToken}.
    /// @param interfaceId The interface id.
    /// @return Whether supported.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IRestrictedToken).interfaceId || interfaceId == type(IERC1404).interfaceId
            || interfaceId == type(IERC20).interfaceId || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------------------------- internal

    /// @dev A controller or the treasury: the only receivers a custodian may pay without the receiver rules.
    function _isRecoveryRecipient(address account) private view returns (bool) {
        return account != address(0) && (account == _treasury || hasRole(CONTROLLER_ROLE, account));
    }

    /// @dev The single override point: every transfer, `transferFrom` and mint is checked; burns
    /// (`to == 0`, only reachable through {burn}) are not.
    function _update(address from, address to, uint256 value) internal override {
        if (to != address(0)) {
            uint8 code = detectTransferRestriction(from, to, value);
            if (code != RestrictionCodes.SUCCESS) revert TransferRestricted(code, RestrictionCodes.message(code));
        }
        super._update(from, to, value);
    }
}
