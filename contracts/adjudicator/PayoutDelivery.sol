// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IAdjudicator} from "../interfaces/IAdjudicator.sol";
import {IRestrictedToken} from "../interfaces/IRestrictedToken.sol";
import {Payouts} from "./Payouts.sol";
import {TokenCalls} from "./TokenCalls.sol";

/**
 * @title Delivering payouts: pushed, claimable or held for the controller
 * @author Clearline
 * @notice Pays what a channel owes its participants. A payout the token refuses becomes claimable;
 * a movement between the participants that a restricted token's rules refuse is held for the
 * token's controller, who releases or recovers it (or its receiver claims it once the rules allow).
 * @dev A base of the Adjudicator; it owns the claimable and held balances.
 */
abstract contract PayoutDelivery is IAdjudicator, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    mapping(address token => mapping(address holder => uint256)) private _claimable;
    mapping(address token => mapping(address from => mapping(address to => uint256))) private _held;

    /**
     * @notice Pays the caller its claimable balance of `token` (left by a payout that reverted).
     * @param token The token to claim.
     */
    function claim(address token) external nonReentrant {
        uint256 amount = _claimable[token][msg.sender];
        if (amount == 0) revert NothingClaimable(token, msg.sender);
        delete _claimable[token][msg.sender];
        emit Claimed(token, msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /**
     * @notice Lets the token's controller move a frozen holder's claimable balance to a recovery
     * address (itself or a treasury): the issuer's legal powers reach into layer two.
     * @param token The restricted token.
     * @param holder The frozen holder.
     * @param recipient Where the tokens go.
     */
    function recoverClaimable(address token, address holder, address recipient) external nonReentrant {
        if (!TokenCalls.isController(token, msg.sender)) revert NotController(token, msg.sender);
        if (!IRestrictedToken(token).isFrozen(holder)) revert HolderNotFrozen(token, holder);
        uint256 amount = _claimable[token][holder];
        if (amount == 0) revert NothingClaimable(token, holder);
        delete _claimable[token][holder];
        emit ClaimableRecovered(token, holder, recipient, amount, msg.sender);
        IERC20(token).safeTransfer(recipient, amount);
    }

    /**
     * @notice The token's controller decides a held movement: it pays the whole held amount from
     * `from` to `to` to `recipient` — `to` (release), `from`, itself or a treasury (recovery).
     * @param token The restricted token.
     * @param from The sender of the held movement.
     * @param to The receiver of the held movement.
     * @param recipient Where the tokens go.
     */
    function releaseHeld(address token, address from, address to, address recipient) external nonReentrant {
        if (!TokenCalls.isController(token, msg.sender)) revert NotController(token, msg.sender);
        _releaseHeld(token, from, to, recipient);
    }

    /**
     * @notice The receiver of a held movement takes it once the token's rules allow the movement
     * (e.g. the sender was unfrozen or its lock-up ended): its recourse without the controller.
     * @param token The restricted token.
     * @param from The sender of the held movement; the caller is its receiver.
     */
    function claimHeld(address token, address from) external nonReentrant {
        uint256 amount = _held[token][from][msg.sender];
        if (amount == 0) revert NothingHeld(token, from, msg.sender);
        uint8 code = TokenCalls.custodialCode(token, from, msg.sender, amount);
        if (code != 0) revert MovementRestricted(token, from, msg.sender, code);
        _releaseHeld(token, from, msg.sender, msg.sender);
    }

    /**
     * @notice The claimable balance of `holder` in `token`.
     * @param token The token.
     * @param holder The holder.
     * @return The amount.
     */
    function claimableOf(address token, address holder) external view returns (uint256) {
        return _claimable[token][holder];
    }

    /**
     * @notice What is held of `token` from `from` to `to`, awaiting the controller (or the rules).
     * @param token The restricted token.
     * @param from The sender of the held movements.
     * @param to Their receiver.
     * @return The amount.
     */
    function heldOf(address token, address from, address to) external view returns (uint256) {
        return _held[token][from][to];
    }

    /// @dev Pays every asset's payouts; for a restricted token, a movement between the participants
    /// that the token's rules refuse is held for the controller instead of reaching the receiver.
    function _payAll(bytes32 channelId, Params calldata params, Payouts.Payout[] memory payouts) internal {
        address p0 = params.participants[0];
        address p1 = params.participants[1];
        for (uint256 i = 0; i < payouts.length; ++i) {
            Payouts.Payout memory payout = payouts[i];
            address token = params.assets[i];
            if (payout.restricted) {
                if (payout.moved0 != 0) payout.amount0 -= _holdIfRefused(channelId, token, p1, p0, payout.moved0);
                if (payout.moved1 != 0) payout.amount1 -= _holdIfRefused(channelId, token, p0, p1, payout.moved1);
            }
            _pay(channelId, token, p0, payout.amount0);
            _pay(channelId, token, p1, payout.amount1);
        }
    }

    /// @dev Checks the movement `from` → `to` with the token's custodial rule; returns what was held.
    function _holdIfRefused(
        bytes32 channelId,
        address token,
        address from,
        address to,
        uint256 amount
    ) private returns (uint256) {
        uint8 code = TokenCalls.custodialCode(token, from, to, amount);
        if (code == 0) return 0;
        _held[token][from][to] += amount;
        emit MovementHeld(channelId, token, from, to, amount, code);
        return amount;
    }

    function _releaseHeld(address token, address from, address to, address recipient) private {
        uint256 amount = _held[token][from][to];
        if (amount == 0) revert NothingHeld(token, from, to);
        delete _held[token][from][to];
        emit HeldReleased(token, from, to, recipient, amount, msg.sender);
        IERC20(token).safeTransfer(recipient, amount);
    }

    /// @dev Pushes a payout; if the token reverts or refuses, the amount becomes claimable instead.
    function _pay(bytes32 channelId, address token, address to, uint256 amount) private {
        if (amount == 0) return;
        if (!TokenCalls.tryTransfer(token, to, amount)) {
            _claimable[token][to] += amount;
            emit PayoutDeferred(channelId, token, to, amount);
        }
    }
}
